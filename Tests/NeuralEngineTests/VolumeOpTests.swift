import NeuralEngine
import Testing

@Suite struct VolumeOpTests {
    var generator = SplitMix64(seed: 4)
    var check = GradientCheck()

    @Test mutating func instanceNormGradients() {
        let input = Tensor.randomNormal(shape: [2, 3, 2, 4, 3], mean: 0.5, standardDeviation: 2, using: &generator)
        let scale = Tensor.randomNormal(shape: [3], mean: 1, standardDeviation: 0.3, using: &generator)
        let shift = Tensor.randomNormal(shape: [3], using: &generator)
        let (_, statistics) = InstanceNorm.forward(input, scale: scale, shift: shift)
        let probe = check.probe(shape: input.shape)
        let gradients = InstanceNorm.backward(outputGradient: probe, input: input, scale: scale, statistics: statistics)
        GradientCheck.expectMatches(analytic: gradients.input, input: input, probe: probe, step: 1e-2) {
            InstanceNorm.forward($0, scale: scale, shift: shift).output
        }
        GradientCheck.expectMatches(analytic: gradients.scale, input: scale, probe: probe) {
            InstanceNorm.forward(input, scale: $0, shift: shift).output
        }
        GradientCheck.expectMatches(analytic: gradients.shift, input: shift, probe: probe) {
            InstanceNorm.forward(input, scale: scale, shift: $0).output
        }
    }

    @Test mutating func instanceNormNormalizesEachChannel() {
        let input = Tensor.randomNormal(shape: [2, 4, 4, 4, 3], mean: 3, standardDeviation: 5, using: &generator)
        let (output, statistics) = InstanceNorm.forward(
            input, scale: Tensor(shape: [3], repeating: 1), shift: Tensor(shape: [3]))
        for n in 0..<2 {
            for c in 0..<3 {
                let values = (0..<64).map { Double(output.scalars[(n * 64 + $0) * 3 + c]) }
                let mean = values.reduce(0, +) / 64
                let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 64
                #expect(abs(mean) < 1e-5)
                #expect(abs(variance - 1) < 1e-3)
                let inputMean = (0..<64).map { Double(input.scalars[(n * 64 + $0) * 3 + c]) }.reduce(0, +) / 64
                #expect(abs(Double(statistics.mean[n * 3 + c]) - inputMean) < 1e-4)
            }
        }
    }

    /// Each sample of 12,288 voxels is cut into slabs that the cores share. Each voxel must
    /// still be normalised with its own sample's channel statistics, get its residual added, then
    /// be rectified. 5 channels take the scalar loops, 32 the 16-lane ones.
    @Test(arguments: [5, 32])
    mutating func normaliseWithResidualMatchesDouble(channels: Int) {
        let voxels = 12_288
        let input = Tensor.randomNormal(shape: [2, 12, 32, 32, channels], mean: 40, standardDeviation: 3, using: &generator)
        let residual = Tensor.randomNormal(shape: input.shape, using: &generator)
        let scale = Tensor(shape: [channels], scalars: (0..<channels).map { [1, 0.5, 2, -1, 1.5][$0 % 5] })
        let shift = Tensor(shape: [channels], scalars: (0..<channels).map { [0, 0.25, -0.5, 1, 0][$0 % 5] })
        var output = input
        InstanceNorm.normalise(&output, scale: scale, shift: shift, adding: .tensor(residual), leakyReLUSlope: 0.1)
        for n in 0..<2 {
            for c in 0..<channels {
                let index = { (v: Int) in (n * voxels + v) * channels + c }
                let values = (0..<voxels).map { Double(input.scalars[index($0)]) }
                let mean = values.reduce(0, +) / Double(voxels)
                let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(voxels)
                var largestError = 0.0
                for v in 0..<voxels {
                    let normalised = (values[v] - mean) / (variance + 1e-5).squareRoot() * Double(scale.scalars[c]) + Double(shift.scalars[c])
                        + Double(residual.scalars[index(v)])
                    let expected = normalised > 0 ? normalised : 0.1 * normalised
                    largestError = max(largestError, abs(Double(output.scalars[index(v)]) - expected))
                }
                #expect(largestError < 1e-4, "sample \(n), channel \(c): largest error \(largestError)")
            }
        }
    }

    /// The projection of a one-channel volume, computed inside the pass, must add what oneDNN's
    /// 1x1x1 convolution of that volume adds. 32 channels take the 16-lane loops, 5 the scalar ones.
    @Test(arguments: [32, 5])
    mutating func projectedResidualMatchesConvolution(channels: Int) {
        let input = Tensor.randomNormal(shape: [2, 4, 6, 8, channels], mean: 1, standardDeviation: 2, using: &generator)
        let phase = Tensor.randomNormal(shape: [2, 4, 6, 8, 1], using: &generator)
        let weight = Tensor.randomNormal(shape: [channels, 1, 1, 1, 1], using: &generator)
        let bias = Tensor.randomNormal(shape: [channels], using: &generator)
        let scale = Tensor.randomNormal(shape: [channels], mean: 1, standardDeviation: 0.3, using: &generator)
        let shift = Tensor.randomNormal(shape: [channels], using: &generator)
        let convolved = Convolution3D.forward(input: phase, weight: weight, bias: bias, geometry: ConvolutionGeometry())

        var projected = input
        InstanceNorm.normalise(&projected, scale: scale, shift: shift,
                               adding: .singleChannelProjection(input: phase, weight: weight, bias: bias), leakyReLUSlope: 0.01)
        var added = input
        InstanceNorm.normalise(&added, scale: scale, shift: shift, adding: .tensor(convolved), leakyReLUSlope: 0.01)
        let difference = zip(projected.scalars, added.scalars).map { abs($0 - $1) }.max() ?? 0
        #expect(difference < 1e-5, "largest difference \(difference)")
    }

    @Test mutating func upsamplingGradient() {
        let input = Tensor.randomNormal(shape: [2, 2, 3, 4, 2], using: &generator)
        let probe = check.probe(shape: [2, 4, 6, 8, 2])
        let analytic = TrilinearUpsampling.backward(outputGradient: probe, inputShape: input.shape)
        GradientCheck.expectMatches(analytic: analytic, input: input, probe: probe) {
            TrilinearUpsampling.forward($0)
        }
    }

    /// The fused version must equal upsampling followed by concatenation, element for element:
    /// both interpolate in the same order.
    @Test mutating func upsamplingIntoConcatenationMatchesSeparateOps() {
        let input = Tensor.randomNormal(shape: [2, 3, 2, 4, 5], using: &generator)
        let skip = Tensor.randomNormal(shape: [2, 6, 4, 8, 3], using: &generator)
        let fused = TrilinearUpsampling.forward(input, concatenatedWith: skip)
        let separate = Concatenation.forward([TrilinearUpsampling.forward(input), skip])
        #expect(fused.shape == [2, 6, 4, 8, 8])
        #expect(fused.scalars == separate.scalars)
    }

    @Test func upsamplingValues() {
        // Along W, outputs 0..5 read source coordinates -0.25 (clamped to 0), 0.25, 0.75, 1.25,
        // 1.75 and 2.25 (upper tap clamped to index 2), so by hand [0, 4, 8] becomes
        // [0, 1, 3, 5, 7, 8]. D and H have extent 1, so every output row repeats it.
        let input = Tensor(shape: [1, 1, 1, 3, 1], scalars: [0, 4, 8])
        let output = TrilinearUpsampling.forward(input)
        #expect(output.shape == [1, 2, 2, 6, 1])
        #expect(Array(output.scalars[0..<6]) == [0, 1, 3, 5, 7, 8])
        #expect(Array(output.scalars[18..<24]) == [0, 1, 3, 5, 7, 8])
    }
}
