import Dispatch

/// Trilinear upsampling of channels-last volumes by an integer factor, with PyTorch's
/// `align_corners=False` sampling: output voxel o reads source coordinate (o + 0.5) / factor - 0.5,
/// clamped at the low edge.
///
/// Shapes: input (N, D, H, W, C), output (N, factor·D, factor·H, factor·W, C).
///
/// Trilinear interpolation is separable, so both passes run as three one-axis linear
/// interpolations (W, then H, then D; the backward pass in reverse order). Each interpolates
/// contiguous runs of the axes behind it, so its inner loop vectorises.
public enum TrilinearUpsampling {
    /// Upsamples every sample.
    public static func forward(_ input: Tensor, factor: Int = 2) -> Tensor {
        checkShape(input.shape, factor: factor)
        var volume = input
        for axis in [3, 2, 1] {
            volume = interpolate(volume, axis: axis, factor: factor)
        }
        return volume
    }

    /// Computes dL/dx from dL/dy, the adjoint of `forward`.
    public static func backward(outputGradient: Tensor, inputShape: [Int], factor: Int = 2) -> Tensor {
        checkShape(inputShape, factor: factor)
        let outputShape = [inputShape[0]] + inputShape[1...3].map { $0 * factor } + [inputShape[4]]
        precondition(outputGradient.shape == outputShape, "output gradient \(outputGradient.shape) must be \(outputShape)")
        var gradient = outputGradient
        for axis in [1, 2, 3] {
            gradient = interpolateAdjoint(gradient, axis: axis, extent: inputShape[axis], factor: factor)
        }
        return gradient
    }

    /// Returns the lower source index, upper source index and upper weight of output coordinate `o`.
    static func taps(output o: Int, extent: Int, factor: Int) -> (lower: Int, upper: Int, weight: Float) {
        let source = max((Float(o) + 0.5) / Float(factor) - 0.5, 0)
        let lower = min(Int(source), extent - 1)
        let upper = min(lower + 1, extent - 1)
        return (lower, upper, source - Float(lower))
    }

    /// Upsamples along one axis: shape (outer, extent, inner) to (outer, factor·extent, inner).
    private static func interpolate(_ input: Tensor, axis: Int, factor: Int) -> Tensor {
        let extent = input.shape[axis]
        let outer = input.shape[..<axis].reduce(1, *)
        let inner = input.shape[(axis + 1)...].reduce(1, *)
        var outputShape = input.shape
        outputShape[axis] = extent * factor
        var output = Tensor(uninitializedShape: outputShape)
        let taps = (0..<extent * factor).map { Self.taps(output: $0, extent: extent, factor: factor) }
        input.scalars.withUnsafeBufferPointer { x in
            output.scalars.withUnsafeMutableBufferPointer { y in
                let (x, y) = (SendablePointer(x), SendablePointer(y))
                DispatchQueue.concurrentPerform(iterations: outer) { o in
                    for (index, tap) in taps.enumerated() {
                        let lowerRow = x.base + (o * extent + tap.lower) * inner
                        let upperRow = x.base + (o * extent + tap.upper) * inner
                        let outputRow = y.base + (o * taps.count + index) * inner
                        let lowerWeight = 1 - tap.weight
                        for i in 0..<inner {
                            outputRow[i] = lowerWeight * lowerRow[i] + tap.weight * upperRow[i]
                        }
                    }
                }
            }
        }
        return output
    }

    /// Scatters (outer, factor·extent, inner) back onto (outer, extent, inner), the adjoint of
    /// `interpolate`.
    private static func interpolateAdjoint(_ gradient: Tensor, axis: Int, extent: Int, factor: Int) -> Tensor {
        let outer = gradient.shape[..<axis].reduce(1, *)
        let inner = gradient.shape[(axis + 1)...].reduce(1, *)
        var inputShape = gradient.shape
        inputShape[axis] = extent
        var inputGradient = Tensor(shape: inputShape)
        let taps = (0..<extent * factor).map { Self.taps(output: $0, extent: extent, factor: factor) }
        gradient.scalars.withUnsafeBufferPointer { dy in
            inputGradient.scalars.withUnsafeMutableBufferPointer { dx in
                let (dy, dx) = (SendablePointer(dy), SendablePointer(dx))
                // Each outer index owns its own input rows, so iterations never write the same element.
                DispatchQueue.concurrentPerform(iterations: outer) { o in
                    for (index, tap) in taps.enumerated() {
                        let gradientRow = dy.base + (o * taps.count + index) * inner
                        let lowerRow = dx.base + (o * extent + tap.lower) * inner
                        let upperRow = dx.base + (o * extent + tap.upper) * inner
                        let lowerWeight = 1 - tap.weight
                        for i in 0..<inner {
                            lowerRow[i] += lowerWeight * gradientRow[i]
                        }
                        for i in 0..<inner {
                            upperRow[i] += tap.weight * gradientRow[i]
                        }
                    }
                }
            }
        }
        return inputGradient
    }

    private static func checkShape(_ shape: [Int], factor: Int) {
        precondition(shape.count == 5, "upsampling input must be (N, D, H, W, C), got \(shape)")
        precondition(shape.allSatisfy { $0 > 0 }, "upsampling input has an empty axis: \(shape)")
        precondition(factor >= 1, "upsampling factor must be at least 1, got \(factor)")
    }
}
