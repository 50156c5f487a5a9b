import Dispatch

/// Trilinear upsampling of channels-last volumes by an integer factor, with PyTorch's
/// `align_corners=False` sampling: output voxel o reads source coordinate (o + 0.5) / factor - 0.5,
/// clamped at the low edge.
///
/// Shapes: input (N, D, H, W, C), output (N, factor·D, factor·H, factor·W, C).
public enum TrilinearUpsampling {
    /// Upsamples every sample. Output depth planes run in parallel.
    public static func forward(_ input: Tensor, factor: Int = 2) -> Tensor {
        let plan = Plan(inputShape: input.shape, factor: factor)
        var output = Tensor(uninitializedShape: plan.outputShape)
        input.scalars.withUnsafeBufferPointer { x in
            output.scalars.withUnsafeMutableBufferPointer { y in
                let (x, y) = (SendablePointer(x), SendablePointer(y))
                DispatchQueue.concurrentPerform(iterations: plan.batch * plan.output[0]) { plane in
                    let n = plane / plan.output[0]
                    let od = plane % plan.output[0]
                    for oh in 0..<plan.output[1] {
                        for ow in 0..<plan.output[2] {
                            let outputBase = (((n * plan.output[0] + od) * plan.output[1] + oh) * plan.output[2] + ow) * plan.channels
                            for c in 0..<plan.channels {
                                y[outputBase + c] = 0
                            }
                            plan.forEachTap(n: n, od: od, oh: oh, ow: ow) { inputBase, weight in
                                for c in 0..<plan.channels {
                                    y[outputBase + c] += weight * x[inputBase + c]
                                }
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    /// Computes dL/dx by scattering dL/dy back along the same taps. Samples run in parallel,
    /// because the taps of neighbouring output planes overlap within a sample.
    public static func backward(outputGradient: Tensor, inputShape: [Int], factor: Int = 2) -> Tensor {
        let plan = Plan(inputShape: inputShape, factor: factor)
        precondition(outputGradient.shape == plan.outputShape, "output gradient \(outputGradient.shape) must be \(plan.outputShape)")
        var inputGradient = Tensor(shape: inputShape)
        outputGradient.scalars.withUnsafeBufferPointer { dy in
            inputGradient.scalars.withUnsafeMutableBufferPointer { dx in
                let (dy, dx) = (SendablePointer(dy), SendablePointer(dx))
                DispatchQueue.concurrentPerform(iterations: plan.batch) { n in
                    for od in 0..<plan.output[0] {
                        for oh in 0..<plan.output[1] {
                            for ow in 0..<plan.output[2] {
                                let outputBase = (((n * plan.output[0] + od) * plan.output[1] + oh) * plan.output[2] + ow) * plan.channels
                                plan.forEachTap(n: n, od: od, oh: oh, ow: ow) { inputBase, weight in
                                    for c in 0..<plan.channels {
                                        dx[inputBase + c] += weight * dy[outputBase + c]
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return inputGradient
    }

    /// The two source indices and their weights for every output coordinate of each axis.
    struct Plan: Sendable {
        let batch: Int
        let channels: Int
        let input: [Int]
        let output: [Int]
        /// Per axis and output coordinate: (lower index, upper index, weight of the upper index).
        let taps: [[(Int, Int, Float)]]

        init(inputShape: [Int], factor: Int) {
            precondition(inputShape.count == 5, "upsampling input must be (N, D, H, W, C), got \(inputShape)")
            precondition(factor >= 1, "upsampling factor must be at least 1, got \(factor)")
            batch = inputShape[0]
            channels = inputShape[4]
            input = Array(inputShape[1...3])
            output = input.map { $0 * factor }
            taps = input.map { extent in
                (0..<extent * factor).map { o in
                    let source = max((Float(o) + 0.5) / Float(factor) - 0.5, 0)
                    let lower = min(Int(source), extent - 1)
                    let upper = min(lower + 1, extent - 1)
                    return (lower, upper, source - Float(lower))
                }
            }
        }

        var outputShape: [Int] { [batch] + output + [channels] }

        /// Calls `body` with the element offset of each of the 8 source voxels and its weight.
        @inline(__always)
        func forEachTap(n: Int, od: Int, oh: Int, ow: Int, _ body: (Int, Float) -> Void) {
            let (d0, d1, wd) = taps[0][od]
            let (h0, h1, wh) = taps[1][oh]
            let (w0, w1, ww) = taps[2][ow]
            let planeStride = input[1] * input[2] * channels
            let rowStride = input[2] * channels
            let sampleBase = n * input[0] * planeStride
            let dBases = (sampleBase + d0 * planeStride, sampleBase + d1 * planeStride)
            let hOffsets = (h0 * rowStride, h1 * rowStride)
            let wOffsets = (w0 * channels, w1 * channels)
            let dWeights = (1 - wd, wd)
            let hWeights = (1 - wh, wh)
            let wWeights = (1 - ww, ww)
            body(dBases.0 + hOffsets.0 + wOffsets.0, dWeights.0 * hWeights.0 * wWeights.0)
            body(dBases.0 + hOffsets.0 + wOffsets.1, dWeights.0 * hWeights.0 * wWeights.1)
            body(dBases.0 + hOffsets.1 + wOffsets.0, dWeights.0 * hWeights.1 * wWeights.0)
            body(dBases.0 + hOffsets.1 + wOffsets.1, dWeights.0 * hWeights.1 * wWeights.1)
            body(dBases.1 + hOffsets.0 + wOffsets.0, dWeights.1 * hWeights.0 * wWeights.0)
            body(dBases.1 + hOffsets.0 + wOffsets.1, dWeights.1 * hWeights.0 * wWeights.1)
            body(dBases.1 + hOffsets.1 + wOffsets.0, dWeights.1 * hWeights.1 * wWeights.0)
            body(dBases.1 + hOffsets.1 + wOffsets.1, dWeights.1 * hWeights.1 * wWeights.1)
        }
    }
}
