import Dispatch

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

    /// Normalises each sample's channels over space. Samples run in parallel.
    public static func forward(
        _ input: Tensor, scale: Tensor, shift: Tensor, epsilon: Float = defaultEpsilon
    ) -> (output: Tensor, statistics: Statistics) {
        let (batch, voxels, channels) = dimensions(input)
        precondition(scale.shape == [channels] && shift.shape == [channels], "instance norm scale and shift must be (\(channels))")
        var output = Tensor(uninitializedShape: input.shape)
        var mean = [Float](repeating: 0, count: batch * channels)
        var reciprocalStandardDeviation = [Float](repeating: 0, count: batch * channels)

        input.scalars.withUnsafeBufferPointer { x in
            output.scalars.withUnsafeMutableBufferPointer { y in
                mean.withUnsafeMutableBufferPointer { meanBuffer in
                    reciprocalStandardDeviation.withUnsafeMutableBufferPointer { rstdBuffer in
                        let (x, y, meanBuffer, rstdBuffer) = (SendablePointer(x), SendablePointer(y), SendablePointer(meanBuffer), SendablePointer(rstdBuffer))
                        DispatchQueue.concurrentPerform(iterations: batch) { n in
                            let sampleInput = x.base + n * voxels * channels
                            let sampleOutput = y.base + n * voxels * channels
                            let sums = UnsafeMutableBufferPointer<Double>.allocate(capacity: channels)
                            let factors = UnsafeMutableBufferPointer<Float>.allocate(capacity: 4 * channels)
                            defer {
                                sums.deallocate()
                                factors.deallocate()
                            }
                            let means = factors.baseAddress!
                            let rstds = means + channels
                            let multipliers = rstds + channels
                            let offsets = multipliers + channels

                            // Pass 1: channel means.
                            sums.initialize(repeating: 0)
                            for v in 0..<voxels {
                                let row = sampleInput + v * channels
                                for c in 0..<channels {
                                    sums[c] += Double(row[c])
                                }
                            }
                            for c in 0..<channels {
                                means[c] = Float(sums[c] / Double(voxels))
                            }

                            // Pass 2: channel variances about those means.
                            sums.initialize(repeating: 0)
                            for v in 0..<voxels {
                                let row = sampleInput + v * channels
                                for c in 0..<channels {
                                    let centered = row[c] - means[c]
                                    sums[c] += Double(centered * centered)
                                }
                            }

                            // Pass 3: y = (x - mean) · rstd · γ + β, folded into one multiply-add.
                            for c in 0..<channels {
                                rstds[c] = 1 / (Float(sums[c] / Double(voxels)) + epsilon).squareRoot()
                                multipliers[c] = rstds[c] * scale.scalars[c]
                                offsets[c] = shift.scalars[c] - means[c] * multipliers[c]
                                meanBuffer[n * channels + c] = means[c]
                                rstdBuffer[n * channels + c] = rstds[c]
                            }
                            for v in 0..<voxels {
                                let inputRow = sampleInput + v * channels
                                let outputRow = sampleOutput + v * channels
                                for c in 0..<channels {
                                    outputRow[c] = inputRow[c] * multipliers[c] + offsets[c]
                                }
                            }
                        }
                    }
                }
            }
        }
        return (output, Statistics(mean: mean, reciprocalStandardDeviation: reciprocalStandardDeviation))
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
