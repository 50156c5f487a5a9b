import Foundation

/// Softmax over the last axis. Shapes: input and output (..., K).
public enum Softmax {
    /// Computes exp(x - max) / Σ exp(x - max) along the last axis.
    public static func forward(_ input: Tensor) -> Tensor {
        let width = input.shape.last ?? 1
        var output = input
        output.scalars.withUnsafeMutableBufferPointer { y in
            for start in stride(from: 0, to: y.count, by: width) {
                normalizeRow(UnsafeMutableBufferPointer(rebasing: y[start..<start + width]))
            }
        }
        return output
    }

    /// Computes dL/dx = y ⊙ (dL/dy - Σ dL/dy ⊙ y) from dL/dy and the forward output y.
    public static func backward(outputGradient: Tensor, output: Tensor) -> Tensor {
        precondition(outputGradient.shape == output.shape, "gradient shape \(outputGradient.shape) differs from output shape \(output.shape)")
        let width = output.shape.last ?? 1
        var inputGradient = outputGradient
        inputGradient.scalars.withUnsafeMutableBufferPointer { dx in
            output.scalars.withUnsafeBufferPointer { y in
                for start in stride(from: 0, to: dx.count, by: width) {
                    var dot: Float = 0
                    for i in start..<start + width {
                        dot += dx[i] * y[i]
                    }
                    for i in start..<start + width {
                        dx[i] = y[i] * (dx[i] - dot)
                    }
                }
            }
        }
        return inputGradient
    }

    /// Replaces one row of logits by its softmax, in place.
    @inline(__always)
    static func normalizeRow(_ row: UnsafeMutableBufferPointer<Float>) {
        var maximum = -Float.infinity
        for value in row {
            maximum = max(maximum, value)
        }
        var sum: Float = 0
        for i in row.indices {
            row[i] = expf(row[i] - maximum)
            sum += row[i]
        }
        let scale = 1 / sum
        for i in row.indices {
            row[i] *= scale
        }
    }
}
