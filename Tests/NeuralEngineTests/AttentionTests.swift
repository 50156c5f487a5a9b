import NeuralEngine
import Testing

@Suite struct AttentionTests {
    var generator = SplitMix64(seed: 5)
    var check = GradientCheck()

    /// Three sequences of 3 tokens: all present, the middle token missing, all missing.
    static let mask = [true, true, true, true, false, true, false, false, false]

    @Test mutating func attentionGradients() {
        let input = Tensor.randomNormal(shape: [3, 3, 4], using: &generator)
        var parameters = MultiHeadAttention.Parameters.random(channels: 4, heads: 2, using: &generator)
        parameters.inputProjectionBias = .randomNormal(shape: [12], standardDeviation: 0.1, using: &generator)
        let mask = Self.mask
        let (output, activations) = MultiHeadAttention.forward(input, mask: mask, parameters: parameters)
        let probe = check.probe(shape: output.shape)
        let gradients = MultiHeadAttention.backward(
            outputGradient: probe, input: input, mask: mask, parameters: parameters, activations: activations)
        let fixed = parameters

        GradientCheck.expectMatches(analytic: gradients.input, input: input, probe: probe, step: 1e-3) {
            MultiHeadAttention.forward($0, mask: mask, parameters: fixed).output
        }
        GradientCheck.expectMatches(analytic: gradients.parameters.inputProjectionWeight, input: parameters.inputProjectionWeight, probe: probe, step: 1e-3) {
            var changed = fixed
            changed.inputProjectionWeight = $0
            return MultiHeadAttention.forward(input, mask: mask, parameters: changed).output
        }
        GradientCheck.expectMatches(analytic: gradients.parameters.inputProjectionBias, input: parameters.inputProjectionBias, probe: probe, step: 1e-3) {
            var changed = fixed
            changed.inputProjectionBias = $0
            return MultiHeadAttention.forward(input, mask: mask, parameters: changed).output
        }
        GradientCheck.expectMatches(analytic: gradients.parameters.outputProjectionWeight, input: parameters.outputProjectionWeight, probe: probe, step: 1e-3) {
            var changed = fixed
            changed.outputProjectionWeight = $0
            return MultiHeadAttention.forward(input, mask: mask, parameters: changed).output
        }
        GradientCheck.expectMatches(analytic: gradients.parameters.outputProjectionBias, input: parameters.outputProjectionBias, probe: probe, step: 1e-3) {
            var changed = fixed
            changed.outputProjectionBias = $0
            return MultiHeadAttention.forward(input, mask: mask, parameters: changed).output
        }
    }

    @Test mutating func maskedTokenIsIgnored() {
        var input = Tensor.randomNormal(shape: [1, 3, 4], using: &generator)
        let parameters = MultiHeadAttention.Parameters.random(channels: 4, heads: 2, using: &generator)
        let mask = [true, false, true]
        let before = MultiHeadAttention.forward(input, mask: mask, parameters: parameters).output
        for c in 4..<8 {
            input.scalars[c] += 10
        }
        let after = MultiHeadAttention.forward(input, mask: mask, parameters: parameters).output
        #expect(Array(before.scalars[0..<4]) == Array(after.scalars[0..<4]))
        #expect(Array(before.scalars[8..<12]) == Array(after.scalars[8..<12]))
    }

    @Test mutating func singlePresentTokenPassesItsValue() {
        // With one present key, every softmax row is [1], so each token's context is that
        // token's value projection.
        let input = Tensor.randomNormal(shape: [1, 3, 4], using: &generator)
        let parameters = MultiHeadAttention.Parameters.random(channels: 4, heads: 2, using: &generator)
        let (_, activations) = MultiHeadAttention.forward(input, mask: [false, true, false], parameters: parameters)
        let value = Array(activations.projections.scalars[12 + 8..<12 + 12])
        for t in 0..<3 {
            #expect(Array(activations.context.scalars[t * 4..<t * 4 + 4]) == value)
        }
    }

    @Test mutating func poolingGradients() {
        let input = Tensor.randomNormal(shape: [3, 3, 4], using: &generator)
        let query = Tensor.randomNormal(shape: [4], using: &generator)
        let mask = Self.mask
        let (output, weights) = AttentionPooling.forward(input, mask: mask, query: query)
        let probe = check.probe(shape: output.shape)
        let gradients = AttentionPooling.backward(outputGradient: probe, input: input, mask: mask, query: query, weights: weights)
        GradientCheck.expectMatches(analytic: gradients.input, input: input, probe: probe, step: 1e-3) {
            AttentionPooling.forward($0, mask: mask, query: query).output
        }
        GradientCheck.expectMatches(analytic: gradients.query, input: query, probe: probe, step: 1e-3) {
            AttentionPooling.forward(input, mask: mask, query: $0).output
        }
    }

    @Test func poolingWithZeroQueryIsMaskedMean() {
        // A zero query gives equal scores, so the pooled vector is the mean of present tokens.
        let input = Tensor(shape: [1, 3, 2], scalars: [1, 2, 100, 200, 3, 6])
        let (output, _) = AttentionPooling.forward(input, mask: [true, false, true], query: Tensor(shape: [2]))
        #expect(output.scalars == [2, 4])
    }
}
