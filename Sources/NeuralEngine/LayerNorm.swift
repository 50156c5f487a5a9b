import CDNNL
import VectorKernels

/// Layer normalisation over the last axis with a learned scale and shift:
/// y = (x - mean) / sqrt(var + ε) · γ + β.
///
/// Shapes: input and output (..., C), scale γ and shift β (C). The forward pass returns the
/// per-row mean and reciprocal standard deviation, shape (rows), which the backward pass needs.
public enum LayerNorm {
    /// The ε PyTorch's `nn.LayerNorm` uses by default.
    public static let defaultEpsilon: Float = 1e-5

    /// Per-row statistics saved by `forward` for `backward`.
    public struct Statistics: Sendable {
        /// Mean of each row, shape (rows).
        public var mean: [Float]
        /// 1 / sqrt(variance + ε) of each row, shape (rows).
        public var reciprocalStandardDeviation: [Float]
    }

    /// Normalises every row of the last axis.
    public static func forward(
        _ input: Tensor, scale: Tensor, shift: Tensor, epsilon: Float = defaultEpsilon
    ) -> (output: Tensor, statistics: Statistics) {
        let width = input.shape.last ?? 1
        precondition(scale.shape == [width] && shift.shape == [width], "layer norm scale and shift must be (\(width))")
        let rows = input.count / width
        var output = Tensor(shape: input.shape)
        var mean = [Float](repeating: 0, count: rows)
        var reciprocalStandardDeviation = [Float](repeating: 0, count: rows)
        input.scalars.withUnsafeBufferPointer { x in
            output.scalars.withUnsafeMutableBufferPointer { y in
                scale.scalars.withUnsafeBufferPointer { gamma in
                    shift.scalars.withUnsafeBufferPointer { beta in
                        mean.withUnsafeMutableBufferPointer { meanBuffer in
                            reciprocalStandardDeviation.withUnsafeMutableBufferPointer { rstdBuffer in
                                normalizeRows(
                                    x.baseAddress!, into: y.baseAddress!, rows: rows, width: width,
                                    scale: gamma.baseAddress!, shift: beta.baseAddress!, epsilon: epsilon,
                                    mean: meanBuffer.baseAddress, reciprocalStandardDeviation: rstdBuffer.baseAddress)
                            }
                        }
                    }
                }
            }
        }
        return (output, Statistics(mean: mean, reciprocalStandardDeviation: reciprocalStandardDeviation))
    }

    /// Normalises `rows` contiguous rows of `width` values; the statistics are stored when their
    /// pointers are not nil.
    private static func normalizeRows(
        _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, rows: Int, width: Int,
        scale: UnsafePointer<Float>, shift: UnsafePointer<Float>, epsilon: Float,
        mean: UnsafeMutablePointer<Float>? = nil, reciprocalStandardDeviation: UnsafeMutablePointer<Float>? = nil
    ) {
        for row in 0..<rows {
            let inputRow = x + row * width
            let outputRow = y + row * width
            let rowMean = sum(inputRow, count: width) / Float(width)
            let squares = sumOfSquaredDeviations(inputRow, from: rowMean, count: width)
            let rstd = 1 / (squares / Float(width) + epsilon).squareRoot()
            for c in 0..<width {
                outputRow[c] = (inputRow[c] - rowMean) * rstd * scale[c] + shift[c]
            }
            mean?[row] = rowMean
            reciprocalStandardDeviation?[row] = rstd
        }
    }

    /// Returns oneDNN's layer normalisation bound to `rows` contiguous rows of `width` values,
    /// as `normalizeRows` computes it. oneDNN compiles it for the CPU's widest vectors, while
    /// Swift code here targets baseline x86-64. With `mean` and `variance` given, it also writes
    /// each row's mean and variance (not its reciprocal standard deviation).
    static func bindRows(
        _ x: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>, rows: Int, width: Int,
        scale: UnsafePointer<Float>, shift: UnsafePointer<Float>, epsilon: Float,
        mean: UnsafeMutablePointer<Float>? = nil, variance: UnsafeMutablePointer<Float>? = nil
    ) -> DNNLBoundPrimitive {
        var data = dnnlMemoryDescriptor([rows, width], dnnl_ab)
        var statistics = dnnlMemoryDescriptor([rows], dnnl_a)
        let parameters = dnnlMemoryDescriptor([width], dnnl_a)
        let keepsStatistics = mean != nil && variance != nil
        var operation = dnnl_layer_normalization_desc_t()
        checkDNNL(
            dnnl_layer_normalization_forward_desc_init(
                &operation, keepsStatistics ? dnnl_forward_training : dnnl_forward_inference, &data, &statistics, epsilon,
                UInt32(dnnl_use_scale.rawValue | dnnl_use_shift.rawValue)),
            "describe layer normalisation of \(rows) rows of \(width)")
        var arguments = [
            (DNNL_ARG_SRC, DNNLMemory(data, x)),
            (DNNL_ARG_DST, DNNLMemory(data, y)),
            (DNNL_ARG_SCALE, DNNLMemory(parameters, UnsafeMutableRawPointer(mutating: scale))),
            (DNNL_ARG_SHIFT, DNNLMemory(parameters, UnsafeMutableRawPointer(mutating: shift))),
        ]
        if let mean, let variance {
            arguments += [(DNNL_ARG_MEAN, DNNLMemory(statistics, mean)), (DNNL_ARG_VARIANCE, DNNLMemory(statistics, variance))]
        }
        return DNNLBoundPrimitive(DNNLPrimitiveDescriptor(&operation), arguments: arguments)
    }

    /// Computes dL/dx, dL/dγ and dL/dβ from dL/dy, the forward input and its statistics.
    public static func backward(
        outputGradient: Tensor, input: Tensor, scale: Tensor, statistics: Statistics
    ) -> (input: Tensor, scale: Tensor, shift: Tensor) {
        let width = input.shape.last ?? 1
        let rows = input.count / width
        var inputGradient = Tensor(shape: input.shape)
        var scaleGradient = Tensor(shape: [width])
        var shiftGradient = Tensor(shape: [width])
        input.scalars.withUnsafeBufferPointer { x in
            outputGradient.scalars.withUnsafeBufferPointer { dy in
                inputGradient.scalars.withUnsafeMutableBufferPointer { dx in
                    scale.scalars.withUnsafeBufferPointer { gamma in
                        scaleGradient.scalars.withUnsafeMutableBufferPointer { dGamma in
                            shiftGradient.scalars.withUnsafeMutableBufferPointer { dBeta in
                                statistics.mean.withUnsafeBufferPointer { mean in
                                    statistics.reciprocalStandardDeviation.withUnsafeBufferPointer { rstd in
                                        backwardRows(
                                            outputGradient: dy.baseAddress!, input: x.baseAddress!, rows: rows, width: width,
                                            mean: mean.baseAddress!, reciprocalStandardDeviation: rstd.baseAddress!,
                                            scale: gamma.baseAddress!, inputGradient: dx.baseAddress!,
                                            scaleGradient: dGamma.baseAddress!, shiftGradient: dBeta.baseAddress!)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (inputGradient, scaleGradient, shiftGradient)
    }

    /// Writes dL/dx of `rows` rows into `inputGradient` and adds dL/dγ and dL/dβ into
    /// `scaleGradient` and `shiftGradient`. Shared with the fused temporal kernel.
    static func backwardRows(
        outputGradient dy: UnsafePointer<Float>, input x: UnsafePointer<Float>, rows: Int, width: Int,
        mean: UnsafePointer<Float>, reciprocalStandardDeviation: UnsafePointer<Float>, scale: UnsafePointer<Float>,
        inputGradient dx: UnsafeMutablePointer<Float>,
        scaleGradient: UnsafeMutablePointer<Float>, shiftGradient: UnsafeMutablePointer<Float>
    ) {
        for row in 0..<rows {
            let inputRow = x + row * width
            let gradientRow = dy + row * width
            let inputGradientRow = dx + row * width
            let rowMean = mean[row]
            let rstd = reciprocalStandardDeviation[row]

            // Pass 1: the two row means the input gradient needs.
            var meanGradient: Float = 0
            var meanGradientTimesNormalized: Float = 0
            for c in 0..<width {
                let normalized = (inputRow[c] - rowMean) * rstd
                let g = gradientRow[c] * scale[c]
                meanGradient += g
                meanGradientTimesNormalized += g * normalized
                scaleGradient[c] += gradientRow[c] * normalized
                shiftGradient[c] += gradientRow[c]
            }
            meanGradient /= Float(width)
            meanGradientTimesNormalized /= Float(width)

            // Pass 2: dx = rstd · (g - mean(g) - x̂ · mean(g · x̂)).
            for c in 0..<width {
                let normalized = (inputRow[c] - rowMean) * rstd
                let g = gradientRow[c] * scale[c]
                inputGradientRow[c] = rstd * (g - meanGradient - normalized * meanGradientTimesNormalized)
            }
        }
    }
}
