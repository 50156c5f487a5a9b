// 3D convolution on oneDNN: forward, backward data and backward weights. Activations stay
// channels-last (NDHWC), so the library runs its kernels on the caller's buffers without
// reorders. Only the small weight tensor is reordered into the layout the chosen kernel wants.
import CDNNL

/// The stride and zero padding of a 3D convolution, equal along D, H and W.
public struct ConvolutionGeometry: Sendable, Equatable {
    /// The step between windows along each axis.
    public var stride: Int
    /// Zeros added before and after each axis.
    public var padding: Int

    /// Creates a geometry; stops when stride < 1 or padding < 0.
    public init(stride: Int = 1, padding: Int = 0) {
        precondition(stride >= 1 && padding >= 0, "invalid convolution stride \(stride) or padding \(padding)")
        self.stride = stride
        self.padding = padding
    }

    /// Returns the output extent of an axis of extent `input` for a kernel of extent `kernel`.
    public func outputExtent(input: Int, kernel: Int) -> Int {
        (input + 2 * padding - kernel) / stride + 1
    }
}

/// 3D convolution (cross-correlation, as in PyTorch's `Conv3d`).
///
/// Shapes: input (N, D, H, W, Cin); weight (Cout, Cin, kD, kH, kW), PyTorch's order;
/// bias (Cout); output (N, D', H', W', Cout) with D' = (D + 2·padding - kD) / stride + 1.
/// The fast version runs on oneDNN; `referenceForward` is the plain-Swift version the tests
/// compare it with.
public enum Convolution3D {
    /// Computes the convolution for inference.
    public static func forward(input: Tensor, weight: Tensor, bias: Tensor, geometry: ConvolutionGeometry) -> Tensor {
        var output = Tensor(shape: [0])
        forward(input: input, weight: weight, bias: bias, geometry: geometry, into: &output)
        return output
    }

    /// Computes the convolution into `output`, reusing its storage when it already has the
    /// output's shape and is not shared. A sliding-window loop that keeps its outputs avoids
    /// allocating and page-faulting hundreds of megabytes per call this way.
    public static func forward(
        input: Tensor, weight: Tensor, bias: Tensor, geometry: ConvolutionGeometry, into output: inout Tensor
    ) {
        let problem = Problem(input: input.shape, weight: weight.shape, geometry: geometry)
        precondition(bias.shape == [problem.outputChannels], "convolution bias must be (\(problem.outputChannels)), got \(bias.shape)")
        var opDescriptor = problem.forwardDescriptor(kind: dnnl_forward_inference)
        let primitive = DNNLPrimitiveDescriptor(&opDescriptor)
        if output.shape != problem.outputShape {
            output = Tensor(uninitializedShape: problem.outputShape)
        }
        var packedWeight = pack(weight, for: primitive.memoryDescriptor(dnnl_query_weights_md), problem: problem)

        input.scalars.withUnsafeBufferPointer { x in
            bias.scalars.withUnsafeBufferPointer { b in
                output.scalars.withUnsafeMutableBufferPointer { y in
                    packedWeight.withUnsafeMutableBufferPointer { w in
                        primitive.execute([
                            (DNNL_ARG_SRC, DNNLMemory(problem.sourceDescriptor, UnsafeMutableRawPointer(mutating: x.baseAddress!))),
                            (DNNL_ARG_WEIGHTS, DNNLMemory(primitive.memoryDescriptor(dnnl_query_weights_md), w.baseAddress!)),
                            (DNNL_ARG_BIAS, DNNLMemory(problem.biasDescriptor, UnsafeMutableRawPointer(mutating: b.baseAddress!))),
                            (DNNL_ARG_DST, DNNLMemory(problem.destinationDescriptor, y.baseAddress!)),
                        ])
                    }
                }
            }
        }
    }

    /// Computes dL/dinput, dL/dweight and dL/dbias from dL/doutput and the forward operands.
    public static func backward(
        outputGradient: Tensor, input: Tensor, weight: Tensor, geometry: ConvolutionGeometry
    ) -> (input: Tensor, weight: Tensor, bias: Tensor) {
        let problem = Problem(input: input.shape, weight: weight.shape, geometry: geometry)
        precondition(outputGradient.shape == problem.outputShape, "output gradient \(outputGradient.shape) must be \(problem.outputShape)")
        var forwardDescriptor = problem.forwardDescriptor(kind: dnnl_forward_training)
        let hint = DNNLPrimitiveDescriptor(&forwardDescriptor)

        var dataDescriptor = dnnl_convolution_desc_t()
        var anyWeights = problem.anyWeightsDescriptor
        var source = problem.sourceDescriptor
        var destination = problem.destinationDescriptor
        var bias = problem.biasDescriptor
        let strides = dnnlDimensions(problem.strides)
        let paddingLeft = dnnlDimensions(problem.paddingLeft)
        let paddingRight = dnnlDimensions(problem.paddingRight)
        checkDNNL(
            dnnl_convolution_backward_data_desc_init(
                &dataDescriptor, dnnl_convolution_direct, &source, &anyWeights, &destination,
                strides, paddingLeft, paddingRight),
            "describe a convolution backward data pass")
        let dataPrimitive = DNNLPrimitiveDescriptor(&dataDescriptor, hint: hint)

        var weightsDescriptor = dnnl_convolution_desc_t()
        checkDNNL(
            dnnl_convolution_backward_weights_desc_init(
                &weightsDescriptor, dnnl_convolution_direct, &source, &anyWeights, &bias, &destination,
                strides, paddingLeft, paddingRight),
            "describe a convolution backward weights pass")
        let weightsPrimitive = DNNLPrimitiveDescriptor(&weightsDescriptor, hint: hint)

        var inputGradient = Tensor(uninitializedShape: input.shape)
        var weightGradient = Tensor(shape: weight.shape)
        var biasGradient = Tensor(shape: [problem.outputChannels])
        let packedWeightDescriptor = dataPrimitive.memoryDescriptor(dnnl_query_weights_md)
        var packedWeight = pack(weight, for: packedWeightDescriptor, problem: problem)
        let packedWeightGradientDescriptor = weightsPrimitive.memoryDescriptor(dnnl_query_diff_weights_md)
        var packedWeightGradient = [Float](repeating: 0, count: dnnlElementCount(packedWeightGradientDescriptor))

        outputGradient.scalars.withUnsafeBufferPointer { dy in
            let outputGradientMemory = DNNLMemory(problem.destinationDescriptor, UnsafeMutableRawPointer(mutating: dy.baseAddress!))

            // Pass 1: dL/dinput.
            inputGradient.scalars.withUnsafeMutableBufferPointer { dx in
                packedWeight.withUnsafeMutableBufferPointer { w in
                    dataPrimitive.execute([
                        (DNNL_ARG_DIFF_DST, outputGradientMemory),
                        (DNNL_ARG_WEIGHTS, DNNLMemory(packedWeightDescriptor, w.baseAddress!)),
                        (DNNL_ARG_DIFF_SRC, DNNLMemory(problem.sourceDescriptor, dx.baseAddress!)),
                    ])
                }
            }

            // Pass 2: dL/dweight in the kernel's layout and dL/dbias.
            input.scalars.withUnsafeBufferPointer { x in
                packedWeightGradient.withUnsafeMutableBufferPointer { dw in
                    biasGradient.scalars.withUnsafeMutableBufferPointer { db in
                        weightsPrimitive.execute([
                            (DNNL_ARG_SRC, DNNLMemory(problem.sourceDescriptor, UnsafeMutableRawPointer(mutating: x.baseAddress!))),
                            (DNNL_ARG_DIFF_DST, outputGradientMemory),
                            (DNNL_ARG_DIFF_WEIGHTS, DNNLMemory(packedWeightGradientDescriptor, dw.baseAddress!)),
                            (DNNL_ARG_DIFF_BIAS, DNNLMemory(problem.biasDescriptor, db.baseAddress!)),
                        ])
                    }
                }
            }
        }

        // Pass 3: dL/dweight back into PyTorch's (Cout, Cin, kD, kH, kW) order.
        packedWeightGradient.withUnsafeMutableBufferPointer { source in
            weightGradient.scalars.withUnsafeMutableBufferPointer { destination in
                dnnlReorder(
                    from: source.baseAddress!, packedWeightGradientDescriptor,
                    to: destination.baseAddress!, problem.userWeightsDescriptor)
            }
        }
        return (inputGradient, weightGradient, biasGradient)
    }

    /// Copies the weight from (Cout, Cin, kD, kH, kW) into the layout a primitive chose.
    private static func pack(_ weight: Tensor, for descriptor: dnnl_memory_desc_t, problem: Problem) -> [Float] {
        if dnnlSameLayout(descriptor, problem.userWeightsDescriptor) {
            return weight.scalars
        }
        var packed = [Float](repeating: 0, count: dnnlElementCount(descriptor))
        var source = weight.scalars
        source.withUnsafeMutableBufferPointer { from in
            packed.withUnsafeMutableBufferPointer { to in
                dnnlReorder(from: from.baseAddress!, problem.userWeightsDescriptor, to: to.baseAddress!, descriptor)
            }
        }
        return packed
    }
}

/// The shapes of one convolution in oneDNN's terms. oneDNN's logical order is always
/// (N, C, D, H, W), and the format tag states that the buffers are channels-last.
struct Problem {
    let batch: Int
    let inputChannels: Int
    let outputChannels: Int
    let inputSpatial: [Int]
    let kernel: [Int]
    let outputSpatial: [Int]
    let strides: [Int]
    let paddingLeft: [Int]
    let paddingRight: [Int]

    init(input: [Int], weight: [Int], geometry: ConvolutionGeometry) {
        precondition(input.count == 5, "convolution input must be (N, D, H, W, C), got \(input)")
        precondition(weight.count == 5, "convolution weight must be (Cout, Cin, kD, kH, kW), got \(weight)")
        precondition(input[4] == weight[1], "input has \(input[4]) channels but the weight expects \(weight[1])")
        batch = input[0]
        inputChannels = input[4]
        outputChannels = weight[0]
        let inputSpatial = Array(input[1...3])
        let kernel = Array(weight[2...4])
        let outputSpatial = zip(inputSpatial, kernel).map { geometry.outputExtent(input: $0, kernel: $1) }
        precondition(outputSpatial.allSatisfy { $0 >= 1 }, "kernel \(kernel) does not fit input \(inputSpatial) with padding \(geometry.padding)")
        self.inputSpatial = inputSpatial
        self.kernel = kernel
        self.outputSpatial = outputSpatial
        strides = [geometry.stride, geometry.stride, geometry.stride]
        paddingLeft = [geometry.padding, geometry.padding, geometry.padding]
        // The right padding that makes the last window end exactly where oneDNN expects.
        paddingRight = (0..<3).map { axis in
            (outputSpatial[axis] - 1) * geometry.stride + kernel[axis] - inputSpatial[axis] - geometry.padding
        }
    }

    var outputShape: [Int] { [batch] + outputSpatial + [outputChannels] }

    var sourceDescriptor: dnnl_memory_desc_t {
        dnnlMemoryDescriptor([batch, inputChannels] + inputSpatial, dnnl_ndhwc)
    }

    var destinationDescriptor: dnnl_memory_desc_t {
        dnnlMemoryDescriptor([batch, outputChannels] + outputSpatial, dnnl_ndhwc)
    }

    var userWeightsDescriptor: dnnl_memory_desc_t {
        dnnlMemoryDescriptor([outputChannels, inputChannels] + kernel, dnnl_oidhw)
    }

    var anyWeightsDescriptor: dnnl_memory_desc_t {
        dnnlMemoryDescriptor([outputChannels, inputChannels] + kernel, dnnl_format_tag_any)
    }

    var biasDescriptor: dnnl_memory_desc_t {
        dnnlMemoryDescriptor([outputChannels], dnnl_x)
    }

    func forwardDescriptor(kind: dnnl_prop_kind_t) -> dnnl_convolution_desc_t {
        var descriptor = dnnl_convolution_desc_t()
        var source = sourceDescriptor
        var weights = anyWeightsDescriptor
        var bias = biasDescriptor
        var destination = destinationDescriptor
        let strides = dnnlDimensions(strides)
        let paddingLeft = dnnlDimensions(paddingLeft)
        let paddingRight = dnnlDimensions(paddingRight)
        checkDNNL(
            dnnl_convolution_forward_desc_init(
                &descriptor, kind, dnnl_convolution_direct, &source, &weights, &bias, &destination,
                strides, paddingLeft, paddingRight),
            "describe a convolution forward pass")
        return descriptor
    }
}
