import Dispatch
import Foundation
import VectorKernels

/// Instance normalisation of channels-last volumes with a learned per-channel scale and shift:
/// every (sample, channel) pair is normalised over its D·H·W voxels, as PyTorch's
/// `InstanceNorm3d(affine: true)` does in training mode.
///
/// Shapes: input and output (N, D, H, W, C); scale γ and shift β (C); statistics (N, C).
/// Sums are accumulated in Double, because a volume has about a million voxels per channel.
public enum InstanceNorm {
    /// The ε PyTorch's `nn.InstanceNorm3d` uses by default.
    public static let defaultEpsilon: Float = 1e-5

    /// Per-(sample, channel) statistics saved by `forward` for `backward`.
    public struct Statistics: Sendable {
        /// Mean of each (sample, channel), shape (N, C).
        public var mean: [Float]
        /// 1 / sqrt(variance + ε) of each (sample, channel), shape (N, C).
        public var reciprocalStandardDeviation: [Float]
    }

    /// Normalises each sample's channels over space.
    public static func forward(
        _ input: Tensor, scale: Tensor, shift: Tensor, epsilon: Float = defaultEpsilon
    ) -> (output: Tensor, statistics: Statistics) {
        let (batch, voxels, channels) = dimensions(input)
        var output = Tensor(uninitializedShape: input.shape)
        let statistics = input.scalars.withUnsafeBufferPointer { x in
            output.scalars.withUnsafeMutableBufferPointer { y in
                normalise(SendablePointer(x), into: SendablePointer(y), batch: batch, voxels: voxels, channels: channels,
                          scale: scale, shift: shift, epsilon: epsilon, residual: NoResidual(), leakyReLUSlope: nil)
            }
        }
        return (output, statistics)
    }

    /// A term that `normalise` adds to the normalised values before the activation.
    public enum Residual {
        /// A volume of the normalised tensor's shape.
        case tensor(Tensor)
        /// w[c] · x + b[c] for every voxel value x of a one-channel volume with the same N, D, H
        /// and W: a 1x1x1 convolution of one channel, with weight (C, 1, 1, 1, 1) and bias (C).
        /// The pass computes it from the one-channel volume, so no C-channel volume is written
        /// and read back.
        case singleChannelProjection(input: Tensor, weight: Tensor, bias: Tensor)
    }

    /// Normalises `tensor` in place, then adds `residual` and applies LeakyReLU when they are
    /// given. Both happen in the last pass over the volume, so inference needs no copy of it.
    /// Each sample is cut into slabs of voxels so that all cores share even a batch of one.
    @discardableResult
    public static func normalise(
        _ tensor: inout Tensor, scale: Tensor, shift: Tensor, epsilon: Float = defaultEpsilon,
        adding residual: Residual? = nil, leakyReLUSlope: Float? = nil
    ) -> Statistics {
        let (batch, voxels, channels) = dimensions(tensor)
        return tensor.scalars.withUnsafeMutableBufferPointer { buffer in
            let values = SendablePointer(buffer)
            func run(_ term: some ResidualTerm) -> Statistics {
                normalise(values, into: values, batch: batch, voxels: voxels, channels: channels,
                          scale: scale, shift: shift, epsilon: epsilon, residual: term, leakyReLUSlope: leakyReLUSlope)
            }
            switch residual {
            case nil:
                return run(NoResidual())
            case .tensor(let volume):
                precondition(volume.shape == tensor.shape, "residual shape \(volume.shape) differs from \(tensor.shape)")
                return volume.scalars.withUnsafeBufferPointer { run(VolumeResidual(values: SendablePointer($0), channels: channels)) }
            case .singleChannelProjection(let input, let weight, let bias):
                precondition(input.shape == Array(tensor.shape.dropLast()) + [1], "projected input \(input.shape) must be \(Array(tensor.shape.dropLast()) + [1])")
                precondition(weight.count == channels && bias.shape == [channels], "projection weight \(weight.shape) and bias \(bias.shape) must have \(channels) values")
                return input.scalars.withUnsafeBufferPointer { x in
                    weight.scalars.withUnsafeBufferPointer { w in
                        bias.scalars.withUnsafeBufferPointer { b in
                            run(ProjectedResidual(input: SendablePointer(x), weight: SendablePointer(w), bias: SendablePointer(b)))
                        }
                    }
                }
            }
        }
    }

    /// Normalises (batch, voxels, channels) values from `x` into `y`, which may be the same
    /// buffer, adding `residual` before the activation.
    private static func normalise(
        _ x: SendablePointer<Float>, into y: SendablePointer<Float>, batch: Int, voxels: Int, channels: Int,
        scale: Tensor, shift: Tensor, epsilon: Float, residual: some ResidualTerm, leakyReLUSlope: Float?
    ) -> Statistics {
        precondition(scale.shape == [channels] && shift.shape == [channels], "instance norm scale and shift must be (\(channels))")
        let slabs = max(1, min(ProcessInfo.processInfo.activeProcessorCount * 2, voxels / 4096))
        let slabVoxels = (voxels + slabs - 1) / slabs
        var mean = [Float](repeating: 0, count: batch * channels)
        var reciprocalStandardDeviation = [Float](repeating: 0, count: batch * channels)
        var multipliers = [Float](repeating: 0, count: batch * channels)
        var offsets = [Float](repeating: 0, count: batch * channels)

        // Per-slab sums, added in slab order afterwards so that the result does not depend on
        // thread timing.
        let partials = UnsafeMutableBufferPointer<Double>.allocate(capacity: batch * slabs * channels)
        defer { partials.deallocate() }
        let slabSums = SendablePointer(partials)

        /// Runs `body` on every slab of every sample in parallel: (slab, sample, first voxel, voxel count).
        func forEachSlab(_ body: @Sendable (Int, Int, Int, Int) -> Void) {
            DispatchQueue.concurrentPerform(iterations: batch * slabs) { slab in
                let first = (slab % slabs) * slabVoxels
                body(slab, slab / slabs, first, max(0, min(slabVoxels, voxels - first)))
            }
        }
        /// Returns the sum of the slab sums of one sample's channel.
        func channelTotal(_ n: Int, _ c: Int) -> Double {
            (0..<slabs).reduce(0.0) { $0 + partials[(n * slabs + $1) * channels + c] }
        }

        // Pass 1: channel means.
        forEachSlab { slab, n, first, count in
            sumRows(x.base + (n * voxels + first) * channels, rows: count, channels: channels, centre: nil,
                    into: slabSums.base + slab * channels)
        }
        for n in 0..<batch {
            for c in 0..<channels {
                mean[n * channels + c] = Float(channelTotal(n, c) / Double(voxels))
            }
        }

        // Pass 2: channel variances about those means.
        mean.withUnsafeBufferPointer { means in
            let means = SendablePointer(means)
            forEachSlab { slab, n, first, count in
                sumRows(x.base + (n * voxels + first) * channels, rows: count, channels: channels,
                        centre: means.base + n * channels, into: slabSums.base + slab * channels)
            }
        }
        for n in 0..<batch {
            for c in 0..<channels {
                let index = n * channels + c
                reciprocalStandardDeviation[index] = 1 / (Float(channelTotal(n, c) / Double(voxels)) + epsilon).squareRoot()
                multipliers[index] = reciprocalStandardDeviation[index] * scale.scalars[c]
                offsets[index] = shift.scalars[c] - mean[index] * multipliers[index]
            }
        }

        // Pass 3: y = (x - mean) · rstd · γ + β, folded into one multiply-add, plus the residual,
        // then the activation.
        multipliers.withUnsafeBufferPointer { multipliers in
            offsets.withUnsafeBufferPointer { offsets in
                let (multipliers, offsets) = (SendablePointer(multipliers), SendablePointer(offsets))
                forEachSlab { _, n, first, count in
                    let firstVoxel = n * voxels + first
                    let m = multipliers.base + n * channels
                    let o = offsets.base + n * channels
                    if channels % 16 == 0 {
                        scaleRowGroups(x.base, into: y.base, voxels: firstVoxel..<firstVoxel + count, channels: channels,
                                       multipliers: m, offsets: o, residual: residual, leakyReLUSlope: leakyReLUSlope)
                        return
                    }
                    for v in firstVoxel..<firstVoxel + count {
                        let inputRow = x.base + v * channels
                        let outputRow = y.base + v * channels
                        for c in 0..<channels {
                            outputRow[c] = inputRow[c] * m[c] + o[c] + residual.value(voxel: v, channel: c)
                        }
                    }
                    if let slope = leakyReLUSlope {
                        LeakyReLU.rectify(y.base + firstVoxel * channels, count: count * channels, slope: slope)
                    }
                }
            }
        }
        return Statistics(mean: mean, reciprocalStandardDeviation: reciprocalStandardDeviation)
    }

    /// Pass 3 for rows of 16·k channels, sixteen channels per vector: y = x · m + o, plus the
    /// residual, then LeakyReLU.
    private static func scaleRowGroups(
        _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, voxels: Range<Int>, channels: Int,
        multipliers: UnsafePointer<Float>, offsets: UnsafePointer<Float>,
        residual: some ResidualTerm, leakyReLUSlope: Float?
    ) {
        // A slope of 1 leaves every value as it is.
        let slope = leakyReLUSlope ?? 1
        for v in voxels {
            for group in stride(from: 0, to: channels, by: 16) {
                let i = v * channels + group
                let value = load16(x + i) * load16(multipliers + group) + load16(offsets + group)
                    + residual.vector(voxel: v, channel: group)
                store16(value.replacing(with: value * slope, where: value .< 0), y + i)
            }
        }
    }

    /// Writes Σ x[v][c] (or Σ (x[v][c] - centre[c])² when `centre` is given) over `rows` rows of
    /// `channels` values to `sums`. Rows are summed in Float in runs of 256, which vectorises,
    /// and the runs in Double, which keeps a million voxels accurate.
    private static func sumRows(
        _ rows: UnsafeMutablePointer<Float>, rows count: Int, channels: Int, centre: UnsafeMutablePointer<Float>?,
        into sums: UnsafeMutablePointer<Double>
    ) {
        if channels % 16 == 0 {
            sumRowGroups(rows, rows: count, channels: channels, centre: centre, into: sums)
            return
        }
        let run = UnsafeMutablePointer<Float>.allocate(capacity: channels)
        defer { run.deallocate() }
        sums.update(repeating: 0, count: channels)
        var start = 0
        while start < count {
            run.update(repeating: 0, count: channels)
            for v in start..<min(count, start + 256) {
                let row = rows + v * channels
                if let centre {
                    for c in 0..<channels {
                        let centred = row[c] - centre[c]
                        run[c] += centred * centred
                    }
                } else {
                    for c in 0..<channels {
                        run[c] += row[c]
                    }
                }
            }
            for c in 0..<channels {
                sums[c] += Double(run[c])
            }
            start += 256
        }
    }

    /// `sumRows` for rows of 16·k channels, with one 16-lane run per group of 16 channels. The
    /// lanes add in the same order as the scalar loop, so the sums are the same.
    private static func sumRowGroups(
        _ rows: UnsafePointer<Float>, rows count: Int, channels: Int, centre: UnsafePointer<Float>?,
        into sums: UnsafeMutablePointer<Double>
    ) {
        sums.update(repeating: 0, count: channels)
        var start = 0
        while start < count {
            let end = min(count, start + 256)
            for group in stride(from: 0, to: channels, by: 16) {
                var run = SIMD16<Float>()
                if let centre {
                    let centreGroup = load16(centre + group)
                    for v in start..<end {
                        let centred = load16(rows + v * channels + group) - centreGroup
                        run += centred * centred
                    }
                } else {
                    for v in start..<end {
                        run += load16(rows + v * channels + group)
                    }
                }
                for lane in 0..<16 {
                    sums[group + lane] += Double(run[lane])
                }
            }
            start = end
        }
    }

    /// Computes dL/dx, dL/dγ and dL/dβ from dL/dy, the forward input and its statistics.
    public static func backward(
        outputGradient: Tensor, input: Tensor, scale: Tensor, statistics: Statistics
    ) -> (input: Tensor, scale: Tensor, shift: Tensor) {
        let (batch, voxels, channels) = dimensions(input)
        precondition(outputGradient.shape == input.shape, "output gradient \(outputGradient.shape) must match input \(input.shape)")
        var inputGradient = Tensor(uninitializedShape: input.shape)
        // Per-sample partial sums for dγ and dβ, added up after the parallel loop.
        var scalePartials = [Float](repeating: 0, count: batch * channels)
        var shiftPartials = [Float](repeating: 0, count: batch * channels)

        input.scalars.withUnsafeBufferPointer { x in
            outputGradient.scalars.withUnsafeBufferPointer { dy in
                inputGradient.scalars.withUnsafeMutableBufferPointer { dx in
                    scalePartials.withUnsafeMutableBufferPointer { scaleBuffer in
                        shiftPartials.withUnsafeMutableBufferPointer { shiftBuffer in
                            let (x, dy, dx) = (SendablePointer(x), SendablePointer(dy), SendablePointer(dx))
                            let (scaleBuffer, shiftBuffer) = (SendablePointer(scaleBuffer), SendablePointer(shiftBuffer))
                            DispatchQueue.concurrentPerform(iterations: batch) { n in
                                let sampleInput = x.base + n * voxels * channels
                                let sampleGradient = dy.base + n * voxels * channels
                                let sampleInputGradient = dx.base + n * voxels * channels
                                let sums = UnsafeMutableBufferPointer<Double>.allocate(capacity: 2 * channels)
                                let factors = UnsafeMutableBufferPointer<Float>.allocate(capacity: 5 * channels)
                                defer {
                                    sums.deallocate()
                                    factors.deallocate()
                                }
                                let gradientSums = sums.baseAddress!
                                let gradientDotNormalized = gradientSums + channels
                                let means = factors.baseAddress!
                                let rstds = means + channels
                                let multipliers = rstds + channels
                                let meanGradient = multipliers + channels
                                let meanGradientDotNormalized = meanGradient + channels
                                for c in 0..<channels {
                                    means[c] = statistics.mean[n * channels + c]
                                    rstds[c] = statistics.reciprocalStandardDeviation[n * channels + c]
                                    multipliers[c] = scale.scalars[c] * rstds[c]
                                }

                                // Pass 1: Σ dy and Σ dy · x̂ per channel.
                                sums.initialize(repeating: 0)
                                for v in 0..<voxels {
                                    let inputRow = sampleInput + v * channels
                                    let gradientRow = sampleGradient + v * channels
                                    for c in 0..<channels {
                                        let normalized = (inputRow[c] - means[c]) * rstds[c]
                                        gradientSums[c] += Double(gradientRow[c])
                                        gradientDotNormalized[c] += Double(gradientRow[c] * normalized)
                                    }
                                }

                                // Pass 2: dx = γ · rstd · (dy - mean(dy) - x̂ · mean(dy · x̂)).
                                for c in 0..<channels {
                                    meanGradient[c] = Float(gradientSums[c] / Double(voxels))
                                    meanGradientDotNormalized[c] = Float(gradientDotNormalized[c] / Double(voxels))
                                    scaleBuffer[n * channels + c] = Float(gradientDotNormalized[c])
                                    shiftBuffer[n * channels + c] = Float(gradientSums[c])
                                }
                                for v in 0..<voxels {
                                    let inputRow = sampleInput + v * channels
                                    let gradientRow = sampleGradient + v * channels
                                    let inputGradientRow = sampleInputGradient + v * channels
                                    for c in 0..<channels {
                                        let normalized = (inputRow[c] - means[c]) * rstds[c]
                                        inputGradientRow[c] = multipliers[c]
                                            * (gradientRow[c] - meanGradient[c] - normalized * meanGradientDotNormalized[c])
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }

        var scaleGradient = Tensor(shape: [channels])
        var shiftGradient = Tensor(shape: [channels])
        for n in 0..<batch {
            for c in 0..<channels {
                scaleGradient.scalars[c] += scalePartials[n * channels + c]
                shiftGradient.scalars[c] += shiftPartials[n * channels + c]
            }
        }
        return (inputGradient, scaleGradient, shiftGradient)
    }

    private static func dimensions(_ input: Tensor) -> (batch: Int, voxels: Int, channels: Int) {
        precondition(input.rank == 5, "instance norm input must be (N, D, H, W, C), got \(input.shape)")
        precondition(input.shape.allSatisfy { $0 > 0 }, "instance norm input has an empty axis: \(input.shape)")
        return (input.shape[0], input.shape[1] * input.shape[2] * input.shape[3], input.shape[4])
    }
}

/// The value that instance norm's last pass adds at a voxel and channel, where voxels count
/// across the whole batch. Each kind is a separate type, so the pass is specialised for it.
private protocol ResidualTerm: Sendable {
    func value(voxel: Int, channel: Int) -> Float
    /// Returns the values of channels `channel..<channel + 16`.
    func vector(voxel: Int, channel: Int) -> SIMD16<Float>
}

private struct NoResidual: ResidualTerm {
    @inline(__always) func value(voxel: Int, channel: Int) -> Float { 0 }
    @inline(__always) func vector(voxel: Int, channel: Int) -> SIMD16<Float> { .zero }
}

private struct VolumeResidual: ResidualTerm {
    let values: SendablePointer<Float>
    let channels: Int

    @inline(__always) func value(voxel: Int, channel: Int) -> Float {
        values[voxel * channels + channel]
    }

    @inline(__always) func vector(voxel: Int, channel: Int) -> SIMD16<Float> {
        load16(values.base + voxel * channels + channel)
    }
}

private struct ProjectedResidual: ResidualTerm {
    let input: SendablePointer<Float>
    let weight: SendablePointer<Float>
    let bias: SendablePointer<Float>

    @inline(__always) func value(voxel: Int, channel: Int) -> Float {
        input[voxel] * weight[channel] + bias[channel]
    }

    @inline(__always) func vector(voxel: Int, channel: Int) -> SIMD16<Float> {
        input[voxel] * load16(weight.base + channel) + load16(bias.base + channel)
    }
}
