// Compares the forward and backward pass of each NeuralEngine op with PyTorch
// (Benchmarks/pytorch_ops.py) on the inputs, parameters and upstream gradients committed in
// Fixtures/pytorch-ops, so that the tests need no PyTorch. The tests live here rather than in
// NeuralEngineTests because the safetensors reader and the error measure of
// PyTorchReferenceTests belong to this target.
import Foundation
import NeuralEngine
import STDNet
import Testing

@Suite struct PyTorchOpTests {
    static let fixtureURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/pytorch-ops/ops.safetensors")

    /// The bound on `PyTorchReferenceTests.relativeError` for every output and gradient. The
    /// reference ran in float64, so the error is the engine's float32 rounding: below 1e-6 on
    /// these fixtures, as for PyTorch's own float32 version of the same ops.
    static let tolerance = 1e-4

    /// The stride and padding of each convolution fixture.
    static let convolutionGeometries: [String: ConvolutionGeometry] = [
        "convolution_stride1": ConvolutionGeometry(stride: 1, padding: 1),
        "convolution_stride2": ConvolutionGeometry(stride: 2, padding: 1),
        "convolution_1x1_stride2": ConvolutionGeometry(stride: 2, padding: 0),
    ]

    @Test(arguments: ["convolution_stride1", "convolution_stride2", "convolution_1x1_stride2"])
    func convolutionMatchesPyTorch(op: String) throws {
        let fixture = try OpFixture(op)
        let geometry = try #require(Self.convolutionGeometries[op])
        let input = try fixture.tensor("input")
        let weight = try fixture.tensor("weight")
        let bias = try fixture.tensor("bias")

        let output = Convolution3D.forward(input: input, weight: weight, bias: bias, geometry: geometry)
        try fixture.expectMatches(output, "output")
        let referenceOutput = Convolution3D.referenceForward(input: input, weight: weight, bias: bias, geometry: geometry)
        try fixture.expectMatches(referenceOutput, "output", label: "referenceForward output")

        let gradients = Convolution3D.backward(
            outputGradient: try fixture.tensor("output_gradient"), input: input, weight: weight, geometry: geometry)
        try fixture.expectMatches(gradients.input, "input_gradient")
        try fixture.expectMatches(gradients.weight, "weight_gradient")
        try fixture.expectMatches(gradients.bias, "bias_gradient")
    }

    @Test func trilinearUpsamplingMatchesPyTorch() throws {
        let fixture = try OpFixture("upsampling")
        let input = try fixture.tensor("input")

        try fixture.expectMatches(TrilinearUpsampling.forward(input, factor: 2), "output")
        let inputGradient = TrilinearUpsampling.backward(
            outputGradient: try fixture.tensor("output_gradient"), inputShape: input.shape, factor: 2)
        try fixture.expectMatches(inputGradient, "input_gradient")
    }

    @Test func instanceNormMatchesPyTorch() throws {
        let fixture = try OpFixture("instance_norm")
        let input = try fixture.tensor("input")
        let scale = try fixture.tensor("scale")

        let (output, statistics) = InstanceNorm.forward(input, scale: scale, shift: try fixture.tensor("shift"))
        try fixture.expectMatches(output, "output")
        let gradients = InstanceNorm.backward(
            outputGradient: try fixture.tensor("output_gradient"), input: input, scale: scale, statistics: statistics)
        try fixture.expectMatches(gradients.input, "input_gradient")
        try fixture.expectMatches(gradients.scale, "scale_gradient")
        try fixture.expectMatches(gradients.shift, "shift_gradient")
    }

    @Test func leakyReLUMatchesPyTorch() throws {
        let fixture = try OpFixture("leaky_relu")
        let input = try fixture.tensor("input")

        try fixture.expectMatches(LeakyReLU.forward(input), "output")
        let inputGradient = LeakyReLU.backward(outputGradient: try fixture.tensor("output_gradient"), input: input)
        try fixture.expectMatches(inputGradient, "input_gradient")
    }

    @Test func geluMatchesPyTorch() throws {
        let fixture = try OpFixture("gelu")
        let input = try fixture.tensor("input")

        try fixture.expectMatches(GELU.forward(input), "output")
        let inputGradient = GELU.backward(outputGradient: try fixture.tensor("output_gradient"), input: input)
        try fixture.expectMatches(inputGradient, "input_gradient")
    }

    @Test func linearMatchesPyTorch() throws {
        let fixture = try OpFixture("linear")
        let input = try fixture.tensor("input")
        let weight = try fixture.tensor("weight")

        try fixture.expectMatches(Linear.forward(input: input, weight: weight, bias: try fixture.tensor("bias")), "output")
        let gradients = Linear.backward(outputGradient: try fixture.tensor("output_gradient"), input: input, weight: weight)
        try fixture.expectMatches(gradients.input, "input_gradient")
        try fixture.expectMatches(gradients.weight, "weight_gradient")
        try fixture.expectMatches(gradients.bias, "bias_gradient")
    }

    @Test func layerNormMatchesPyTorch() throws {
        let fixture = try OpFixture("layer_norm")
        let input = try fixture.tensor("input")
        let scale = try fixture.tensor("scale")

        let (output, statistics) = LayerNorm.forward(input, scale: scale, shift: try fixture.tensor("shift"))
        try fixture.expectMatches(output, "output")
        let gradients = LayerNorm.backward(
            outputGradient: try fixture.tensor("output_gradient"), input: input, scale: scale, statistics: statistics)
        try fixture.expectMatches(gradients.input, "input_gradient")
        try fixture.expectMatches(gradients.scale, "scale_gradient")
        try fixture.expectMatches(gradients.shift, "shift_gradient")
    }

    @Test func multiHeadAttentionMatchesPyTorch() throws {
        let fixture = try OpFixture("attention")
        let input = try fixture.tensor("input")
        let mask = try fixture.mask("mask")
        // The fixture's heads: PyTorch splits the 8 channels into 2 heads of 4.
        let parameters = MultiHeadAttention.Parameters(
            heads: 2,
            inputProjectionWeight: try fixture.tensor("in_proj_weight"),
            inputProjectionBias: try fixture.tensor("in_proj_bias"),
            outputProjectionWeight: try fixture.tensor("out_proj_weight"),
            outputProjectionBias: try fixture.tensor("out_proj_bias"))

        let (output, activations) = MultiHeadAttention.forward(input, mask: mask, parameters: parameters)
        try fixture.expectMatches(output, "output")
        let gradients = MultiHeadAttention.backward(
            outputGradient: try fixture.tensor("output_gradient"), input: input, mask: mask,
            parameters: parameters, activations: activations)
        try fixture.expectMatches(gradients.input, "input_gradient")
        try fixture.expectMatches(gradients.parameters.inputProjectionWeight, "in_proj_weight_gradient")
        try fixture.expectMatches(gradients.parameters.inputProjectionBias, "in_proj_bias_gradient")
        try fixture.expectMatches(gradients.parameters.outputProjectionWeight, "out_proj_weight_gradient")
        try fixture.expectMatches(gradients.parameters.outputProjectionBias, "out_proj_bias_gradient")
    }

    @Test func temporalEncoderMatchesPyTorch() throws {
        let fixture = try OpFixture("temporal_encoder")
        let tokens = try fixture.tensor("tokens")
        let mask = try fixture.mask("mask")
        let parameters = try fixture.temporalParameters()

        let (output, activations) = TemporalEncoder.referenceForward(tokens: tokens, mask: mask, parameters: parameters)
        try fixture.expectMatches(output, "output")
        let gradients = TemporalEncoder.referenceBackward(
            outputGradient: try fixture.tensor("output_gradient"), mask: mask, parameters: parameters, activations: activations)
        try fixture.expectMatches(gradients.tokens, "tokens_gradient")
        for (name, keyPath) in OpFixture.temporalParameterNames() {
            try fixture.expectMatches(gradients.parameters[keyPath: keyPath], "\(name)_gradient")
        }
    }

    /// The temporal kernels on phase volumes, with the second phase slot missing. One fixture has
    /// 8 channels and 2 heads. The other has STD-Net's second level, 32 channels and 4 heads, on
    /// 42 locations, so the last of the fused AVX-512 kernel's groups of 16 is partial.
    @Test(arguments: [("temporal_volume", 2), ("temporal_volume_wide", 4)])
    func fusedTemporalKernelMatchesPyTorch(fixtureName: String, heads: Int) throws {
        let fixture = try OpFixture(fixtureName)
        let phases = try fixture.tensor("phases")
        let presentPhases = try fixture.mask("present")
        let parameters = try fixture.temporalParameters(heads: heads)

        let output = TemporalEncoder.forward(phases: phases, presentPhases: presentPhases, parameters: parameters)
        try fixture.expectMatches(output, "output")
        let gradients = TemporalEncoder.backward(
            outputGradient: try fixture.tensor("output_gradient"), phases: phases, presentPhases: presentPhases,
            parameters: parameters)
        try fixture.expectMatches(gradients.phases, "phases_gradient")
        for (name, keyPath) in OpFixture.temporalParameterNames() {
            try fixture.expectMatches(gradients.parameters[keyPath: keyPath], "\(name)_gradient")
        }
    }

    @Test func softmaxMatchesPyTorch() throws {
        let fixture = try OpFixture("softmax")

        let output = Softmax.forward(try fixture.tensor("input"))
        try fixture.expectMatches(output, "output")
        let inputGradient = Softmax.backward(outputGradient: try fixture.tensor("output_gradient"), output: output)
        try fixture.expectMatches(inputGradient, "input_gradient")
    }

    @Test func channelConcatenationMatchesPyTorch() throws {
        let fixture = try OpFixture("concatenation")
        let first = try fixture.tensor("first")
        let second = try fixture.tensor("second")

        try fixture.expectMatches(Concatenation.forward([first, second]), "output")
        let gradients = Concatenation.backward(
            outputGradient: try fixture.tensor("output_gradient"), widths: [first.shape[4], second.shape[4]])
        try #require(gradients.count == 2)
        try fixture.expectMatches(gradients[0], "first_gradient")
        try fixture.expectMatches(gradients[1], "second_gradient")
    }

    @Test func maskedMeanPoolingMatchesPyTorch() throws {
        let fixture = try OpFixture("masked_mean_pooling")
        let input = try fixture.tensor("input")
        let mask = try fixture.mask("mask")

        try fixture.expectMatches(MaskedMeanPooling.forward(input, mask: mask), "output")
        let inputGradient = MaskedMeanPooling.backward(
            outputGradient: try fixture.tensor("output_gradient"), mask: mask, tokens: input.shape[1])
        try fixture.expectMatches(inputGradient, "input_gradient")
    }

    @Test func attentionPoolingMatchesPyTorch() throws {
        let fixture = try OpFixture("attention_pooling")
        let input = try fixture.tensor("input")
        let mask = try fixture.mask("mask")
        let query = try fixture.tensor("query")

        let (output, weights) = AttentionPooling.forward(input, mask: mask, query: query)
        try fixture.expectMatches(output, "output")
        let gradients = AttentionPooling.backward(
            outputGradient: try fixture.tensor("output_gradient"), input: input, mask: mask, query: query, weights: weights)
        try fixture.expectMatches(gradients.input, "input_gradient")
        try fixture.expectMatches(gradients.query, "query_gradient")
    }

    /// A loss has no upstream gradient in the fixture: both sides return dLoss/dinput. In
    /// `dice_loss_empty_class` one class is absent from the labels and nearly absent from the
    /// prediction, so its term depends on the smoothing.
    @Test(arguments: ["dice_loss", "dice_loss_empty_class"])
    func diceLossMatchesPyTorch(op: String) throws {
        let fixture = try OpFixture(op)
        let probabilities = try fixture.tensor("probabilities")
        let labels = try fixture.labels("labels")

        let loss = DiceLoss.forward(probabilities: probabilities, labels: labels)
        try fixture.expectMatches(Tensor(shape: [1], scalars: [loss]), "output")
        try fixture.expectMatches(DiceLoss.backward(probabilities: probabilities, labels: labels), "probabilities_gradient")
    }

    /// A loss has no upstream gradient in the fixture: both sides return dLoss/dinput.
    @Test func crossEntropyLossMatchesPyTorch() throws {
        let fixture = try OpFixture("cross_entropy_loss")
        let labels = try fixture.labels("labels")

        let (loss, probabilities) = CrossEntropyLoss.forward(logits: try fixture.tensor("logits"), labels: labels)
        try fixture.expectMatches(Tensor(shape: [1], scalars: [loss]), "output")
        try fixture.expectMatches(CrossEntropyLoss.backward(probabilities: probabilities, labels: labels), "logits_gradient")
    }
}

/// The tensors of one op in ops.safetensors, named `OP.NAME`.
struct OpFixture {
    let op: String
    let tensors: [String: Tensor]

    init(_ op: String) throws {
        self.op = op
        tensors = try Safetensors.read(from: PyTorchOpTests.fixtureURL)
    }

    func tensor(_ name: String) throws -> Tensor {
        try #require(tensors["\(op).\(name)"], "\(op).\(name) is missing from \(PyTorchOpTests.fixtureURL.path)")
    }

    /// Reads a key-padding mask, stored as 1 for a present token and 0 for a missing one.
    func mask(_ name: String) throws -> [Bool] {
        try tensor(name).scalars.map { $0 > 0.5 }
    }

    /// Reads class indices, stored as float32.
    func labels(_ name: String) throws -> [UInt8] {
        try tensor(name).scalars.map { UInt8($0) }
    }

    /// Returns the fixture's name of each temporal module parameter with its place in
    /// `TemporalEncoder.Parameters`.
    static func temporalParameterNames() -> [(String, KeyPath<TemporalEncoder.Parameters, Tensor>)] {
        [
            ("phase_embedding", \.phaseEmbedding),
            ("attention_norm_scale", \.attentionNormScale),
            ("attention_norm_shift", \.attentionNormShift),
            ("in_proj_weight", \.attention.inputProjectionWeight),
            ("in_proj_bias", \.attention.inputProjectionBias),
            ("out_proj_weight", \.attention.outputProjectionWeight),
            ("out_proj_bias", \.attention.outputProjectionBias),
            ("mlp_norm_scale", \.mlpNormScale),
            ("mlp_norm_shift", \.mlpNormShift),
            ("mlp_input_weight", \.mlpInputWeight),
            ("mlp_input_bias", \.mlpInputBias),
            ("mlp_output_weight", \.mlpOutputWeight),
            ("mlp_output_bias", \.mlpOutputBias),
            ("pooling_query", \.poolingQuery),
        ]
    }

    /// Reads the temporal module's parameters, with `heads` attention heads (2 in the fixtures
    /// of 8 channels).
    func temporalParameters(heads: Int = 2) throws -> TemporalEncoder.Parameters {
        TemporalEncoder.Parameters(
            phaseEmbedding: try tensor("phase_embedding"),
            attentionNormScale: try tensor("attention_norm_scale"),
            attentionNormShift: try tensor("attention_norm_shift"),
            attention: MultiHeadAttention.Parameters(
                heads: heads,
                inputProjectionWeight: try tensor("in_proj_weight"),
                inputProjectionBias: try tensor("in_proj_bias"),
                outputProjectionWeight: try tensor("out_proj_weight"),
                outputProjectionBias: try tensor("out_proj_bias")),
            mlpNormScale: try tensor("mlp_norm_scale"),
            mlpNormShift: try tensor("mlp_norm_shift"),
            mlpInputWeight: try tensor("mlp_input_weight"),
            mlpInputBias: try tensor("mlp_input_bias"),
            mlpOutputWeight: try tensor("mlp_output_weight"),
            mlpOutputBias: try tensor("mlp_output_bias"),
            poolingQuery: try tensor("pooling_query"))
    }

    /// Checks that `produced` has the shape of the reference tensor `name` and lies within
    /// `PyTorchOpTests.tolerance` of it.
    func expectMatches(
        _ produced: Tensor, _ name: String, label: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let expected = try tensor(name)
        let description = "\(op) \(label ?? name)"
        try #require(produced.shape == expected.shape, "\(description): shape \(produced.shape), PyTorch's \(expected.shape)", sourceLocation: sourceLocation)
        let error = PyTorchReferenceTests.relativeError(produced.scalars, expected.scalars)
        #expect(error < PyTorchOpTests.tolerance, "\(description): max |a-b| / max |b| = \(error)", sourceLocation: sourceLocation)
    }
}
