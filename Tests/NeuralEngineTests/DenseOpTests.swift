import Foundation
import NeuralEngine
import Testing

@Suite struct DenseOpTests {
    var generator = SplitMix64(seed: 1)
    var check = GradientCheck()

    @Test mutating func linearMatchesReference() {
        let input = Tensor.randomNormal(shape: [3, 5, 7], using: &generator)
        let weight = Tensor.randomNormal(shape: [4, 7], using: &generator)
        let bias = Tensor.randomNormal(shape: [4], using: &generator)
        expectClose(
            Linear.forward(input: input, weight: weight, bias: bias),
            Linear.referenceForward(input: input, weight: weight, bias: bias))
    }

    @Test mutating func linearGradients() {
        let input = Tensor.randomNormal(shape: [3, 5], using: &generator)
        let weight = Tensor.randomNormal(shape: [4, 5], using: &generator)
        let bias = Tensor.randomNormal(shape: [4], using: &generator)
        let probe = check.probe(shape: [3, 4])
        let gradients = Linear.backward(outputGradient: probe, input: input, weight: weight)
        GradientCheck.expectMatches(analytic: gradients.input, input: input, probe: probe) {
            Linear.forward(input: $0, weight: weight, bias: bias)
        }
        GradientCheck.expectMatches(analytic: gradients.weight, input: weight, probe: probe) {
            Linear.forward(input: input, weight: $0, bias: bias)
        }
        GradientCheck.expectMatches(analytic: gradients.bias, input: bias, probe: probe) {
            Linear.forward(input: input, weight: weight, bias: $0)
        }
    }

    @Test mutating func leakyReLUGradient() {
        // Keep inputs away from the kink at zero, where finite differences straddle two slopes.
        var input = Tensor.randomNormal(shape: [4, 6], using: &generator)
        for i in 0..<input.count where abs(input.scalars[i]) < 0.05 {
            input.scalars[i] += 0.1
        }
        let probe = check.probe(shape: input.shape)
        let analytic = LeakyReLU.backward(outputGradient: probe, input: input, slope: 0.1)
        GradientCheck.expectMatches(analytic: analytic, input: input, probe: probe) {
            LeakyReLU.forward($0, slope: 0.1)
        }
    }

    @Test func leakyReLUValues() {
        let output = LeakyReLU.forward(Tensor(shape: [3], scalars: [-2, 0, 3]), slope: 0.1)
        #expect(output.scalars == [-0.2, 0, 3])
    }

    /// 37 values: two runs of sixteen lanes and a tail of five.
    @Test func leakyReLUValuesAcrossVectorsAndTail() {
        let values = (0..<37).map { Float($0 - 18) * 0.5 }
        let output = LeakyReLU.forward(Tensor(shape: [37], scalars: values), slope: 0.25)
        #expect(output.scalars == values.map { $0 > 0 ? $0 : $0 * 0.25 })
    }

    @Test func addingInPlace() {
        var sum = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        sum.add(Tensor(shape: [2, 3], scalars: [0.5, -2, 0, 1, 1, -6]))
        #expect(sum.scalars == [1.5, 0, 3, 5, 6, 0])
    }

    @Test mutating func geluGradient() {
        let input = Tensor.randomNormal(shape: [4, 6], standardDeviation: 2, using: &generator)
        let probe = check.probe(shape: input.shape)
        let analytic = GELU.backward(outputGradient: probe, input: input)
        GradientCheck.expectMatches(analytic: analytic, input: input, probe: probe, step: 1e-3) {
            GELU.forward($0)
        }
    }

    @Test func geluValues() {
        // x Φ(x) with Φ(1) = 0.841344746 and Φ(-1) = 0.158655254 from the normal table.
        let output = GELU.forward(Tensor(shape: [2], scalars: [1, -1]))
        #expect(abs(output.scalars[0] - 0.841344746) < 1e-6)
        #expect(abs(output.scalars[1] + 0.158655254) < 1e-6)
    }

    @Test func geluMatchesExactErf() {
        // The rational erf approximation against the C library's erff over [-6, 6].
        let inputs = (0...1200).map { Float($0) / 100 - 6 }
        let output = GELU.forward(Tensor(shape: [inputs.count], scalars: inputs))
        for (x, y) in zip(inputs, output.scalars) {
            let exact = 0.5 * x * (1 + erff(x / Float(2).squareRoot()))
            #expect(abs(y - exact) <= 1e-6 * max(1, abs(exact)), "GELU(\(x)) = \(y), exact \(exact)")
        }
    }

    @Test mutating func softmaxGradient() {
        let input = Tensor.randomNormal(shape: [3, 5], using: &generator)
        let output = Softmax.forward(input)
        let probe = check.probe(shape: input.shape)
        let analytic = Softmax.backward(outputGradient: probe, output: output)
        GradientCheck.expectMatches(analytic: analytic, input: input, probe: probe, step: 1e-3) {
            Softmax.forward($0)
        }
    }

    @Test func softmaxValues() {
        let output = Softmax.forward(Tensor(shape: [1, 2], scalars: [0, logf(3)]))
        #expect(abs(output.scalars[0] - 0.25) < 1e-6)
        #expect(abs(output.scalars[1] - 0.75) < 1e-6)
    }

    @Test mutating func layerNormGradients() {
        let input = Tensor.randomNormal(shape: [3, 8], using: &generator)
        let scale = Tensor.randomNormal(shape: [8], mean: 1, standardDeviation: 0.3, using: &generator)
        let shift = Tensor.randomNormal(shape: [8], using: &generator)
        let (_, statistics) = LayerNorm.forward(input, scale: scale, shift: shift)
        let probe = check.probe(shape: input.shape)
        let gradients = LayerNorm.backward(outputGradient: probe, input: input, scale: scale, statistics: statistics)
        GradientCheck.expectMatches(analytic: gradients.input, input: input, probe: probe, step: 1e-3) {
            LayerNorm.forward($0, scale: scale, shift: shift).output
        }
        GradientCheck.expectMatches(analytic: gradients.scale, input: scale, probe: probe, step: 1e-3) {
            LayerNorm.forward(input, scale: $0, shift: shift).output
        }
        GradientCheck.expectMatches(analytic: gradients.shift, input: shift, probe: probe, step: 1e-3) {
            LayerNorm.forward(input, scale: scale, shift: $0).output
        }
    }

    @Test func layerNormValues() {
        // Mean 2.5, variance 1.25 of [1, 2, 3, 4]: (x - 2.5) / sqrt(1.25 + 1e-5).
        let (output, _) = LayerNorm.forward(
            Tensor(shape: [1, 4], scalars: [1, 2, 3, 4]),
            scale: Tensor(shape: [4], repeating: 1), shift: Tensor(shape: [4]))
        let rstd = 1 / (1.25 + 1e-5).squareRoot()
        for (value, x) in zip(output.scalars, [1.0, 2, 3, 4]) {
            #expect(abs(Double(value) - (x - 2.5) * rstd) < 1e-5)
        }
    }

    @Test mutating func concatenationRoundTrip() {
        let a = Tensor.randomNormal(shape: [2, 3, 2], using: &generator)
        let b = Tensor.randomNormal(shape: [2, 3, 5], using: &generator)
        let joined = Concatenation.forward([a, b])
        #expect(joined.shape == [2, 3, 7])
        #expect(joined.scalars[7 + 2] == b.scalars[5])
        let parts = Concatenation.backward(outputGradient: joined, widths: [2, 5])
        #expect(parts == [a, b])
    }

    @Test mutating func concatenationGradients() {
        let a = Tensor.randomNormal(shape: [2, 3, 2], using: &generator)
        let b = Tensor.randomNormal(shape: [2, 3, 5], using: &generator)
        let probe = check.probe(shape: [2, 3, 7])
        let gradients = Concatenation.backward(outputGradient: probe, widths: [2, 5])
        GradientCheck.expectMatches(analytic: gradients[0], input: a, probe: probe) {
            Concatenation.forward([$0, b])
        }
        GradientCheck.expectMatches(analytic: gradients[1], input: b, probe: probe) {
            Concatenation.forward([a, $0])
        }
    }

    @Test mutating func maskedMeanPoolingGradient() {
        let input = Tensor.randomNormal(shape: [2, 4, 3], using: &generator)
        let mask = [true, false, true, true, false, false, true, false]
        let probe = check.probe(shape: [2, 3])
        let analytic = MaskedMeanPooling.backward(outputGradient: probe, mask: mask, tokens: 4)
        GradientCheck.expectMatches(analytic: analytic, input: input, probe: probe) {
            MaskedMeanPooling.forward($0, mask: mask)
        }
        // The second sequence has only token 2 present, so its mean is that token.
        let output = MaskedMeanPooling.forward(input, mask: mask)
        #expect(Array(output.scalars[3..<6]) == Array(input.scalars[18..<21]))
    }
}
