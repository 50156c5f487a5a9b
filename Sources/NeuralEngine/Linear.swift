/// A fully connected layer, y = x Wᵀ + b, over the last axis of its input.
///
/// Shapes: input (..., inFeatures), weight (outFeatures, inFeatures), bias (outFeatures),
/// output (..., outFeatures). The fast version runs on oneDNN's sgemm (single-threaded, see
/// `sgemm`); `referenceForward` is the plain-Swift version the tests compare it with.
public enum Linear {
    /// Computes x Wᵀ + b.
    public static func forward(input: Tensor, weight: Tensor, bias: Tensor) -> Tensor {
        let (rows, inFeatures, outFeatures) = checkShapes(input: input, weight: weight, bias: bias)
        var output = Tensor(shape: Array(input.shape.dropLast()) + [outFeatures])
        output.scalars.withUnsafeMutableBufferPointer { y in
            // Broadcast the bias into every row, then accumulate x Wᵀ on top of it (beta = 1).
            bias.scalars.withUnsafeBufferPointer { b in
                for row in 0..<rows {
                    (y.baseAddress! + row * outFeatures).update(from: b.baseAddress!, count: outFeatures)
                }
            }
            input.scalars.withUnsafeBufferPointer { x in
                weight.scalars.withUnsafeBufferPointer { w in
                    sgemm(
                        transposeA: false, transposeB: true, m: rows, n: outFeatures, k: inFeatures,
                        a: x.baseAddress!, lda: inFeatures, b: w.baseAddress!, ldb: inFeatures,
                        beta: 1, c: y.baseAddress!, ldc: outFeatures)
                }
            }
        }
        return output
    }

    /// Computes the gradients of the loss with respect to the input, weight and bias.
    ///
    /// - parameters:
    ///   - outputGradient: dL/dy, shape (..., outFeatures).
    ///   - input: the forward input, shape (..., inFeatures).
    ///   - weight: the forward weight, shape (outFeatures, inFeatures).
    public static func backward(
        outputGradient: Tensor, input: Tensor, weight: Tensor
    ) -> (input: Tensor, weight: Tensor, bias: Tensor) {
        let inFeatures = weight.shape[1]
        let outFeatures = weight.shape[0]
        let rows = input.count / inFeatures
        precondition(outputGradient.count == rows * outFeatures, "output gradient shape \(outputGradient.shape) does not match the forward output")

        var inputGradient = Tensor(shape: input.shape)
        var weightGradient = Tensor(shape: weight.shape)
        var biasGradient = Tensor(shape: [outFeatures])
        outputGradient.scalars.withUnsafeBufferPointer { dy in
            // dx = dy W: (rows, out) x (out, in).
            inputGradient.scalars.withUnsafeMutableBufferPointer { dx in
                weight.scalars.withUnsafeBufferPointer { w in
                    sgemm(
                        transposeA: false, transposeB: false, m: rows, n: inFeatures, k: outFeatures,
                        a: dy.baseAddress!, lda: outFeatures, b: w.baseAddress!, ldb: inFeatures,
                        beta: 0, c: dx.baseAddress!, ldc: inFeatures)
                }
            }
            // dW = dyᵀ x: (out, rows) x (rows, in).
            weightGradient.scalars.withUnsafeMutableBufferPointer { dw in
                input.scalars.withUnsafeBufferPointer { x in
                    sgemm(
                        transposeA: true, transposeB: false, m: outFeatures, n: inFeatures, k: rows,
                        a: dy.baseAddress!, lda: outFeatures, b: x.baseAddress!, ldb: inFeatures,
                        beta: 0, c: dw.baseAddress!, ldc: inFeatures)
                }
            }
            biasGradient.scalars.withUnsafeMutableBufferPointer { db in
                for row in 0..<rows {
                    for j in 0..<outFeatures {
                        db[j] += dy[row * outFeatures + j]
                    }
                }
            }
        }
        return (inputGradient, weightGradient, biasGradient)
    }

    /// Computes x Wᵀ + b with plain loops; the reference for `forward`.
    public static func referenceForward(input: Tensor, weight: Tensor, bias: Tensor) -> Tensor {
        let (rows, inFeatures, outFeatures) = checkShapes(input: input, weight: weight, bias: bias)
        var output = Tensor(shape: Array(input.shape.dropLast()) + [outFeatures])
        for row in 0..<rows {
            for j in 0..<outFeatures {
                var sum = bias.scalars[j]
                for k in 0..<inFeatures {
                    sum += input.scalars[row * inFeatures + k] * weight.scalars[j * inFeatures + k]
                }
                output.scalars[row * outFeatures + j] = sum
            }
        }
        return output
    }

    private static func checkShapes(
        input: Tensor, weight: Tensor, bias: Tensor
    ) -> (rows: Int, inFeatures: Int, outFeatures: Int) {
        precondition(weight.rank == 2, "linear weight must be (outFeatures, inFeatures), got \(weight.shape)")
        let outFeatures = weight.shape[0]
        let inFeatures = weight.shape[1]
        precondition(input.shape.last == inFeatures, "linear input \(input.shape) must end in \(inFeatures) features")
        precondition(bias.shape == [outFeatures], "linear bias must be (\(outFeatures)), got \(bias.shape)")
        precondition(input.count > 0 && outFeatures > 0, "linear input \(input.shape) and weight \(weight.shape) must not be empty")
        return (input.count / max(inFeatures, 1), inFeatures, outFeatures)
    }
}
