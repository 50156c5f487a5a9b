@testable import NeuralEngine
import Testing

@Suite struct TemporalEncoderTests {
    var generator = SplitMix64(seed: 6)
    var check = GradientCheck()

    /// Present-phase flags of four slots: complete, one missing, two missing, only one, none.
    static let phaseSets: [[Bool]] = [
        [true, true, true, true],
        [true, false, true, true],
        [false, true, false, true],
        [false, false, true, false],
        [false, false, false, false],
    ]

    /// Volume and module shapes of `fusedMatchesReference`: (depth, height, width), channels,
    /// heads, hidden channels, and whether a CPU with AVX-512 runs them on the fused kernel of
    /// its build, which computes eight outputs at a time.
    static let forwardShapes: [(extent: (Int, Int, Int), channels: Int, heads: Int, hidden: Int, fusedOnAVX512: Bool)] = [
        // 480 locations make several blocks, so block edges and per-worker sums are exercised.
        ((6, 8, 10), 16, 2, 64, true),
        // 105 locations end inside a group of 16.
        ((3, 5, 7), 32, 4, 64, true),
        // 12 channels are not a multiple of eight, so the block kernel runs on any CPU.
        ((2, 3, 5), 12, 3, 24, false),
    ]

    @Test(arguments: 0..<phaseSets.count, 0..<forwardShapes.count)
    mutating func fusedMatchesReference(setIndex: Int, shapeIndex: Int) {
        let presentPhases = Self.phaseSets[setIndex]
        let shape = Self.forwardShapes[shapeIndex]
        let (slots, (depth, height, width), channels) = (4, shape.extent, shape.channels)
        var parameters = TemporalEncoder.Parameters.random(
            channels: channels, heads: shape.heads, hiddenChannels: shape.hidden, phaseSlots: slots, using: &generator)
        parameters.poolingQuery = .randomNormal(shape: [channels], using: &generator)
        parameters.phaseEmbedding = .randomNormal(shape: [slots, channels], using: &generator)
        parameters.attentionNormShift = .randomNormal(shape: [channels], standardDeviation: 0.1, using: &generator)
        let phases = Tensor.randomNormal(shape: [slots, depth, height, width, channels], using: &generator)

        let fused = TemporalEncoder.forward(phases: phases, presentPhases: presentPhases, parameters: parameters)
        // Which kernel ran: without this, a fused kernel that wrongly declined every shape would
        // pass on the block kernel.
        let layout = BlockLayout(phases: phases, presentPhases: presentPhases, parameters: parameters)
        var probe = Tensor(uninitializedShape: fused.shape)
        let fusedRan = layout.blockCount > 0
            && TemporalEncoder.fusedForward(phases: phases, layout: layout, weights: PackedParameters(parameters), into: &probe)
        let fusedExpected = shape.fusedOnAVX512 && VectorKernelBuild.selected.hasFusedTemporalForward && presentPhases.contains(true)
        #expect(fusedRan == fusedExpected)

        // The reference needs (locations, slots, C) tokens and a mask per location.
        let locations = depth * height * width
        var tokens = Tensor(shape: [locations, slots, channels])
        for slot in 0..<slots {
            for location in 0..<locations {
                for c in 0..<channels {
                    tokens.scalars[(location * slots + slot) * channels + c] = phases.scalars[(slot * locations + location) * channels + c]
                }
            }
        }
        let mask = (0..<locations).flatMap { _ in presentPhases }
        let reference = TemporalEncoder.referenceForward(tokens: tokens, mask: mask, parameters: parameters).output
        #expect(fused.shape == [1, depth, height, width, channels])
        expectClose(fused.reshaped([locations, channels]), reference, absolute: 1e-4, relative: 1e-3)
    }

    @Test mutating func referenceGradients() {
        let (locations, slots, channels) = (3, 3, 4)
        var parameters = TemporalEncoder.Parameters.random(channels: channels, heads: 2, hiddenChannels: 8, phaseSlots: slots, using: &generator)
        parameters.poolingQuery = .randomNormal(shape: [channels], using: &generator)
        parameters.attentionNormScale = .randomNormal(shape: [channels], mean: 1, standardDeviation: 0.3, using: &generator)
        parameters.mlpNormShift = .randomNormal(shape: [channels], standardDeviation: 0.3, using: &generator)
        let tokens = Tensor.randomNormal(shape: [locations, slots, channels], using: &generator)
        let mask = [true, true, true, true, false, true, false, true, false]
        let (output, activations) = TemporalEncoder.referenceForward(tokens: tokens, mask: mask, parameters: parameters)
        let probe = check.probe(shape: output.shape)
        let gradients = TemporalEncoder.referenceBackward(outputGradient: probe, mask: mask, parameters: parameters, activations: activations)
        let fixed = parameters

        GradientCheck.expectMatches(analytic: gradients.tokens, input: tokens, probe: probe, step: 1e-3, tolerance: 2e-2) {
            TemporalEncoder.referenceForward(tokens: $0, mask: mask, parameters: fixed).output
        }
        let parameterCases: [(String, Tensor, Tensor, WritableKeyPath<TemporalEncoder.Parameters, Tensor>)] = [
            ("phaseEmbedding", gradients.parameters.phaseEmbedding, parameters.phaseEmbedding, \.phaseEmbedding),
            ("attentionNormScale", gradients.parameters.attentionNormScale, parameters.attentionNormScale, \.attentionNormScale),
            ("attentionNormShift", gradients.parameters.attentionNormShift, parameters.attentionNormShift, \.attentionNormShift),
            ("inputProjectionWeight", gradients.parameters.attention.inputProjectionWeight, parameters.attention.inputProjectionWeight, \.attention.inputProjectionWeight),
            ("outputProjectionWeight", gradients.parameters.attention.outputProjectionWeight, parameters.attention.outputProjectionWeight, \.attention.outputProjectionWeight),
            ("mlpNormScale", gradients.parameters.mlpNormScale, parameters.mlpNormScale, \.mlpNormScale),
            ("mlpInputWeight", gradients.parameters.mlpInputWeight, parameters.mlpInputWeight, \.mlpInputWeight),
            ("mlpInputBias", gradients.parameters.mlpInputBias, parameters.mlpInputBias, \.mlpInputBias),
            ("mlpOutputWeight", gradients.parameters.mlpOutputWeight, parameters.mlpOutputWeight, \.mlpOutputWeight),
            ("mlpOutputBias", gradients.parameters.mlpOutputBias, parameters.mlpOutputBias, \.mlpOutputBias),
            ("poolingQuery", gradients.parameters.poolingQuery, parameters.poolingQuery, \.poolingQuery),
        ]
        for (name, analytic, value, keyPath) in parameterCases {
            GradientCheck.expectMatches(analytic: analytic, input: value, probe: probe, step: 1e-3, tolerance: 2e-2, label: name) {
                var changed = fixed
                changed[keyPath: keyPath] = $0
                return TemporalEncoder.referenceForward(tokens: tokens, mask: mask, parameters: changed).output
            }
        }
    }

    @Test(arguments: 0..<phaseSets.count)
    mutating func fusedBackwardMatchesReference(setIndex: Int) {
        let presentPhases = Self.phaseSets[setIndex]
        let (slots, depth, height, width, channels) = (4, 6, 8, 10, 8)
        var parameters = TemporalEncoder.Parameters.random(channels: channels, heads: 2, hiddenChannels: 16, phaseSlots: slots, using: &generator)
        parameters.poolingQuery = .randomNormal(shape: [channels], using: &generator)
        parameters.phaseEmbedding = .randomNormal(shape: [slots, channels], using: &generator)
        parameters.mlpNormScale = .randomNormal(shape: [channels], mean: 1, standardDeviation: 0.3, using: &generator)
        let phases = Tensor.randomNormal(shape: [slots, depth, height, width, channels], using: &generator)
        let locations = depth * height * width
        let outputGradient = Tensor.randomNormal(shape: [1, depth, height, width, channels], using: &generator)

        let fused = TemporalEncoder.backward(
            outputGradient: outputGradient, phases: phases, presentPhases: presentPhases, parameters: parameters)

        var tokens = Tensor(shape: [locations, slots, channels])
        for slot in 0..<slots {
            for location in 0..<locations {
                for c in 0..<channels {
                    tokens.scalars[(location * slots + slot) * channels + c] = phases.scalars[(slot * locations + location) * channels + c]
                }
            }
        }
        let mask = (0..<locations).flatMap { _ in presentPhases }
        let (_, activations) = TemporalEncoder.referenceForward(tokens: tokens, mask: mask, parameters: parameters)
        let reference = TemporalEncoder.referenceBackward(
            outputGradient: outputGradient.reshaped([locations, channels]), mask: mask,
            parameters: parameters, activations: activations)

        // The reference gives (locations, slots, C); masked slots get zero in both.
        var referencePhases = Tensor(shape: phases.shape)
        for slot in 0..<slots where presentPhases[slot] {
            for location in 0..<locations {
                for c in 0..<channels {
                    referencePhases.scalars[(slot * locations + location) * channels + c] = reference.tokens.scalars[(location * slots + slot) * channels + c]
                }
            }
        }
        expectClose(fused.phases, referencePhases, absolute: 1e-4, relative: 1e-3)
        let pairs: [(Tensor, Tensor)] = [
            (fused.parameters.phaseEmbedding, reference.parameters.phaseEmbedding),
            (fused.parameters.attentionNormScale, reference.parameters.attentionNormScale),
            (fused.parameters.attentionNormShift, reference.parameters.attentionNormShift),
            (fused.parameters.attention.inputProjectionWeight, reference.parameters.attention.inputProjectionWeight),
            (fused.parameters.attention.inputProjectionBias, reference.parameters.attention.inputProjectionBias),
            (fused.parameters.attention.outputProjectionWeight, reference.parameters.attention.outputProjectionWeight),
            (fused.parameters.attention.outputProjectionBias, reference.parameters.attention.outputProjectionBias),
            (fused.parameters.mlpNormScale, reference.parameters.mlpNormScale),
            (fused.parameters.mlpNormShift, reference.parameters.mlpNormShift),
            (fused.parameters.mlpInputWeight, reference.parameters.mlpInputWeight),
            (fused.parameters.mlpInputBias, reference.parameters.mlpInputBias),
            (fused.parameters.mlpOutputWeight, reference.parameters.mlpOutputWeight),
            (fused.parameters.mlpOutputBias, reference.parameters.mlpOutputBias),
            (fused.parameters.poolingQuery, reference.parameters.poolingQuery),
        ]
        for (fusedGradient, referenceGradient) in pairs {
            expectClose(fusedGradient, referenceGradient, absolute: 1e-3, relative: 1e-3)
        }
    }
}
