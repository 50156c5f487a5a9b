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

    /// Upsamples every sample and joins `skip` behind its channels: the result equals
    /// `Concatenation.forward([forward(input, factor: factor), skip])`. The last of the three
    /// passes writes straight into the joined tensor, so the upsampled volume is never stored on
    /// its own. Shapes: input (N, D, H, W, C), skip (N, factor·D, factor·H, factor·W, Cs),
    /// output (N, factor·D, factor·H, factor·W, C + Cs).
    public static func forward(_ input: Tensor, factor: Int = 2, concatenatedWith skip: Tensor) -> Tensor {
        checkShape(input.shape, factor: factor)
        let outputSpatial = input.shape[1...3].map { $0 * factor }
        precondition(skip.rank == 5 && skip.shape[0] == input.shape[0] && Array(skip.shape[1...3]) == outputSpatial,
                     "skip \(skip.shape) must be (\(input.shape[0]), \(outputSpatial.map(String.init).joined(separator: ", ")), C)")
        let halfway = interpolate(interpolate(input, axis: 3, factor: factor), axis: 2, factor: factor)
        let (batch, extent, channels, skipChannels) = (input.shape[0], input.shape[1], input.shape[4], skip.shape[4])
        let planeVoxels = outputSpatial[1] * outputSpatial[2]
        let width = channels + skipChannels
        var output = Tensor(uninitializedShape: [batch] + outputSpatial + [width])
        let taps = (0..<extent * factor).map { Self.taps(output: $0, extent: extent, factor: factor) }
        halfway.scalars.withUnsafeBufferPointer { x in
            skip.scalars.withUnsafeBufferPointer { s in
                output.scalars.withUnsafeMutableBufferPointer { y in
                    let (x, s, y) = (SendablePointer(x), SendablePointer(s), SendablePointer(y))
                    // One iteration per output plane (sample, depth), so each writes its own rows.
                    DispatchQueue.concurrentPerform(iterations: batch * taps.count) { plane in
                        let (n, index) = plane.quotientAndRemainder(dividingBy: taps.count)
                        let tap = taps[index]
                        let lowerPlane = x.base + (n * extent + tap.lower) * planeVoxels * channels
                        let upperPlane = x.base + (n * extent + tap.upper) * planeVoxels * channels
                        let skipPlane = s.base + plane * planeVoxels * skipChannels
                        let outputPlane = y.base + plane * planeVoxels * width
                        let lowerWeight = 1 - tap.weight
                        for voxel in 0..<planeVoxels {
                            let outputRow = outputPlane + voxel * width
                            for c in 0..<channels {
                                outputRow[c] = lowerWeight * lowerPlane[voxel * channels + c] + tap.weight * upperPlane[voxel * channels + c]
                            }
                            for c in 0..<skipChannels {
                                outputRow[channels + c] = skipPlane[voxel * skipChannels + c]
                            }
                        }
                    }
                }
            }
        }
        return output
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
