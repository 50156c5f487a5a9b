import CDNNL
import Foundation
import VectorKernels

/// Leaky rectified linear unit, y = x for x > 0 and y = slope · x otherwise. Any shape.
public enum LeakyReLU {
    /// The negative slope PyTorch's `nn.LeakyReLU` uses by default.
    public static let defaultSlope: Float = 0.01

    /// Applies the activation elementwise.
    public static func forward(_ input: Tensor, slope: Float = defaultSlope) -> Tensor {
        var output = input
        apply(to: &output, slope: slope)
        return output
    }

    /// Applies the activation to every element of `tensor` in place, on all cores.
    public static func apply(to tensor: inout Tensor, slope: Float = defaultSlope) {
        tensor.scalars.withUnsafeMutableBufferPointer { buffer in
            let values = SendablePointer(buffer)
            forEachRangeConcurrently(count: buffer.count) { range in
                rectify(values.base + range.lowerBound, count: range.count, slope: slope)
            }
        }
    }

    /// Rectifies `count` values in place, sixteen lanes at a time with a select instead of a
    /// branch.
    static func rectify(_ values: UnsafeMutablePointer<Float>, count: Int, slope: Float) {
        let raw = UnsafeMutableRawPointer(values)
        let vectors = count / 16
        for i in 0..<vectors {
            let x = raw.loadUnaligned(fromByteOffset: i * 64, as: SIMD16<Float>.self)
            raw.storeBytes(of: x.replacing(with: x * slope, where: x .<= 0), toByteOffset: i * 64, as: SIMD16<Float>.self)
        }
        for i in vectors * 16..<count where values[i] <= 0 {
            values[i] *= slope
        }
    }

    /// Computes dL/dx from dL/dy and the forward input.
    public static func backward(outputGradient: Tensor, input: Tensor, slope: Float = defaultSlope) -> Tensor {
        precondition(outputGradient.shape == input.shape, "gradient shape \(outputGradient.shape) differs from input shape \(input.shape)")
        var inputGradient = outputGradient
        inputGradient.scalars.withUnsafeMutableBufferPointer { dx in
            input.scalars.withUnsafeBufferPointer { x in
                for i in dx.indices where x[i] <= 0 {
                    dx[i] *= slope
                }
            }
        }
        return inputGradient
    }
}

/// Gaussian error linear unit in the erf form, y = x · Φ(x) = x · (1 + erf(x / √2)) / 2, as
/// PyTorch's `nn.GELU()` computes by default. Any shape.
///
/// erf is VectorKernels' `fastErf`; the tests bound its distance from the C library's `erff`.
public enum GELU {
    /// Applies the activation elementwise.
    public static func forward(_ input: Tensor) -> Tensor {
        var output = input
        output.scalars.withUnsafeMutableBufferPointer { y in
            apply(y.baseAddress!, into: y.baseAddress!, count: y.count)
        }
        return output
    }

    /// Computes dL/dx from dL/dy and the forward input.
    public static func backward(outputGradient: Tensor, input: Tensor) -> Tensor {
        precondition(outputGradient.shape == input.shape, "gradient shape \(outputGradient.shape) differs from input shape \(input.shape)")
        var inputGradient = outputGradient
        inputGradient.scalars.withUnsafeMutableBufferPointer { dx in
            input.scalars.withUnsafeBufferPointer { x in
                for i in dx.indices {
                    dx[i] *= derivative(x[i])
                }
            }
        }
        return inputGradient
    }

    /// Writes the GELU of `count` values at `inputs` to `outputs`, sixteen lanes at a time. The
    /// two may be the same buffer.
    static func apply(_ inputs: UnsafePointer<Float>, into outputs: UnsafeMutablePointer<Float>, count: Int) {
        let rawInputs = UnsafeRawPointer(inputs)
        let rawOutputs = UnsafeMutableRawPointer(outputs)
        let vectors = count / 16
        for i in 0..<vectors {
            let x = rawInputs.loadUnaligned(fromByteOffset: i * 64, as: SIMD16<Float>.self)
            let y = 0.5 * x * (1 + fastErf(x * Float(0.5).squareRoot()))
            rawOutputs.storeBytes(of: y, toByteOffset: i * 64, as: SIMD16<Float>.self)
        }
        for i in vectors * 16..<count {
            let x = SIMD4<Float>(repeating: inputs[i])
            outputs[i] = (0.5 * x * (1 + fastErf(x * Float(0.5).squareRoot())))[0]
        }
    }

    /// Returns oneDNN's erf-based GELU bound to `count` values at `inputs` and `outputs`, which
    /// may be the same buffer. oneDNN compiles it for the CPU's widest vectors (16 lanes with
    /// fused multiply-add on AVX-512), while Swift code here targets baseline x86-64, 4-lane SSE.
    static func bind(_ inputs: UnsafeMutablePointer<Float>, into outputs: UnsafeMutablePointer<Float>, count: Int) -> DNNLBoundPrimitive {
        var forward = forwardDescriptor(count: count)
        let values = dnnlMemoryDescriptor([count], dnnl_a)
        return DNNLBoundPrimitive(DNNLPrimitiveDescriptor(&forward), arguments: [
            (DNNL_ARG_SRC, DNNLMemory(values, inputs)),
            (DNNL_ARG_DST, DNNLMemory(values, outputs)),
        ])
    }

    /// Returns oneDNN's GELU backward pass bound to `count` gradients, which it multiplies in
    /// place by GELU'(x) of the matching `inputs`, as `backward` does.
    static func bindDerivative(gradients: UnsafeMutablePointer<Float>, inputs: UnsafeMutablePointer<Float>, count: Int) -> DNNLBoundPrimitive {
        var forward = forwardDescriptor(count: count)
        var values = dnnlMemoryDescriptor([count], dnnl_a)
        var backward = dnnl_eltwise_desc_t()
        checkDNNL(
            dnnl_eltwise_backward_desc_init(&backward, dnnl_eltwise_gelu_erf, &values, &values, 0, 0),
            "describe the GELU backward pass on \(count) values")
        let hint = DNNLPrimitiveDescriptor(&forward)
        return DNNLBoundPrimitive(DNNLPrimitiveDescriptor(&backward, hint: hint), arguments: [
            (DNNL_ARG_SRC, DNNLMemory(values, inputs)),
            (DNNL_ARG_DIFF_DST, DNNLMemory(values, gradients)),
            (DNNL_ARG_DIFF_SRC, DNNLMemory(values, gradients)),
        ])
    }

    private static func forwardDescriptor(count: Int) -> dnnl_eltwise_desc_t {
        var values = dnnlMemoryDescriptor([count], dnnl_a)
        var operation = dnnl_eltwise_desc_t()
        checkDNNL(
            dnnl_eltwise_forward_desc_init(&operation, dnnl_forward_training, dnnl_eltwise_gelu_erf, &values, 0, 0),
            "describe GELU on \(count) values")
        return operation
    }

    /// dy/dx = Φ(x) + x φ(x).
    @inline(__always)
    static func derivative(_ x: Float) -> Float {
        derivative(SIMD4(repeating: x))[0]
    }

    @inline(__always)
    static func derivative(_ x: SIMD4<Float>) -> SIMD4<Float> {
        let cdf = 0.5 * (1 + fastErf(x * Float(0.5).squareRoot()))
        let pdf = fastExp(-0.5 * x * x) / (2 * Float.pi).squareRoot()
        return cdf + x * pdf
    }
}
