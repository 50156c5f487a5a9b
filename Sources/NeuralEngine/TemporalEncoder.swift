// STD-Net's temporal module: at every spatial location the phase feature vectors form a short
// sequence of tokens, and one pre-norm transformer encoder layer plus attention pooling turn them
// into one fused vector. This file holds the parameters and the reference version composed from
// the generic ops (forward and backward); TemporalKernel.swift holds the fused forward kernel.

/// The temporal module: phase-type embedding, one pre-norm transformer encoder layer
/// (multi-head self-attention and a GELU MLP, each with a residual connection) and attention
/// pooling over the present phases.
///
/// With tokens x_t (one per phase slot t), present-phase mask m and embeddings e_t:
///
///     h_t = x_t + e_t
///     u   = h + Attention(LayerNorm₁(h), mask: m)
///     z   = u + W₂ GELU(W₁ LayerNorm₂(u) + b₁) + b₂
///     y   = AttentionPooling(z, mask: m, query: q)
///
/// Shapes of the reference version: tokens (B, T, C), mask (B, T), output (B, C), where B
/// counts locations and T phase slots.
///
/// NOTE: the module has exactly one encoder layer. A deeper temporal module needs the fused
/// kernels extended to loop over layers within a block.
public enum TemporalEncoder {
    /// The learned parameters of the module.
    public struct Parameters: Sendable {
        /// One learned vector per phase slot, shape (T, C).
        public var phaseEmbedding: Tensor
        /// Scale γ₁ of the layer norm before attention, shape (C).
        public var attentionNormScale: Tensor
        /// Shift β₁ of the layer norm before attention, shape (C).
        public var attentionNormShift: Tensor
        /// The self-attention over phase tokens.
        public var attention: MultiHeadAttention.Parameters
        /// Scale γ₂ of the layer norm before the MLP, shape (C).
        public var mlpNormScale: Tensor
        /// Shift β₂ of the layer norm before the MLP, shape (C).
        public var mlpNormShift: Tensor
        /// W₁, shape (hidden, C).
        public var mlpInputWeight: Tensor
        /// b₁, shape (hidden).
        public var mlpInputBias: Tensor
        /// W₂, shape (C, hidden).
        public var mlpOutputWeight: Tensor
        /// b₂, shape (C).
        public var mlpOutputBias: Tensor
        /// The attention pooling query q, shape (C).
        public var poolingQuery: Tensor

        /// Creates parameters from tensors of the shapes above; stops on a mismatch.
        public init(
            phaseEmbedding: Tensor, attentionNormScale: Tensor, attentionNormShift: Tensor,
            attention: MultiHeadAttention.Parameters, mlpNormScale: Tensor, mlpNormShift: Tensor,
            mlpInputWeight: Tensor, mlpInputBias: Tensor, mlpOutputWeight: Tensor, mlpOutputBias: Tensor,
            poolingQuery: Tensor
        ) {
            let channels = poolingQuery.count
            let hidden = mlpInputBias.count
            precondition(phaseEmbedding.rank == 2 && phaseEmbedding.shape[1] == channels, "phase embedding must be (T, \(channels)), got \(phaseEmbedding.shape)")
            for (name, tensor) in [("attentionNormScale", attentionNormScale), ("attentionNormShift", attentionNormShift), ("mlpNormScale", mlpNormScale), ("mlpNormShift", mlpNormShift), ("mlpOutputBias", mlpOutputBias)] {
                precondition(tensor.shape == [channels], "\(name) must be (\(channels)), got \(tensor.shape)")
            }
            precondition(attention.outputProjectionBias.count == channels, "attention has \(attention.outputProjectionBias.count) channels, the module \(channels)")
            precondition(mlpInputWeight.shape == [hidden, channels], "mlpInputWeight must be (\(hidden), \(channels)), got \(mlpInputWeight.shape)")
            precondition(mlpOutputWeight.shape == [channels, hidden], "mlpOutputWeight must be (\(channels), \(hidden)), got \(mlpOutputWeight.shape)")
            self.phaseEmbedding = phaseEmbedding
            self.attentionNormScale = attentionNormScale
            self.attentionNormShift = attentionNormShift
            self.attention = attention
            self.mlpNormScale = mlpNormScale
            self.mlpNormShift = mlpNormShift
            self.mlpInputWeight = mlpInputWeight
            self.mlpInputBias = mlpInputBias
            self.mlpOutputWeight = mlpOutputWeight
            self.mlpOutputBias = mlpOutputBias
            self.poolingQuery = poolingQuery
        }

        /// The channel count C.
        public var channels: Int { poolingQuery.count }

        /// The MLP's hidden width.
        public var hiddenChannels: Int { mlpInputBias.count }

        /// The number of phase slots T.
        public var phaseSlots: Int { phaseEmbedding.shape[0] }

        /// Draws parameters at PyTorch's default scales, with small random embeddings and query.
        public static func random<G: RandomNumberGenerator>(
            channels: Int, heads: Int, hiddenChannels: Int, phaseSlots: Int, using generator: inout G
        ) -> Parameters {
            let inputBound = 1 / Float(channels).squareRoot()
            let hiddenBound = 1 / Float(hiddenChannels).squareRoot()
            return Parameters(
                phaseEmbedding: .randomNormal(shape: [phaseSlots, channels], standardDeviation: 0.02, using: &generator),
                attentionNormScale: Tensor(shape: [channels], repeating: 1),
                attentionNormShift: Tensor(shape: [channels]),
                attention: .random(channels: channels, heads: heads, using: &generator),
                mlpNormScale: Tensor(shape: [channels], repeating: 1),
                mlpNormShift: Tensor(shape: [channels]),
                mlpInputWeight: .randomUniform(shape: [hiddenChannels, channels], in: -inputBound...inputBound, using: &generator),
                mlpInputBias: .randomUniform(shape: [hiddenChannels], in: -inputBound...inputBound, using: &generator),
                mlpOutputWeight: .randomUniform(shape: [channels, hiddenChannels], in: -hiddenBound...hiddenBound, using: &generator),
                mlpOutputBias: .randomUniform(shape: [channels], in: -hiddenBound...hiddenBound, using: &generator),
                poolingQuery: .randomNormal(shape: [channels], standardDeviation: 0.02, using: &generator))
        }
    }

    /// Intermediate values of the reference forward pass, kept for `backward`.
    public struct Activations: Sendable {
        var embedded: Tensor
        var attentionNormOutput: Tensor
        var attentionNormStatistics: LayerNorm.Statistics
        var attention: MultiHeadAttention.Activations
        var attentionResidual: Tensor
        var mlpNormOutput: Tensor
        var mlpNormStatistics: LayerNorm.Statistics
        var mlpHiddenPreActivation: Tensor
        var mlpHidden: Tensor
        var encoded: Tensor
        var poolingWeights: Tensor
    }

    /// Runs the module with the generic ops; the reference for the fused kernel and the path
    /// used for training.
    public static func referenceForward(
        tokens: Tensor, mask: [Bool], parameters: Parameters
    ) -> (output: Tensor, activations: Activations) {
        precondition(tokens.rank == 3, "temporal tokens must be (B, T, C), got \(tokens.shape)")
        precondition(Array(tokens.shape[1...]) == parameters.phaseEmbedding.shape, "tokens \(tokens.shape) do not match the phase embedding \(parameters.phaseEmbedding.shape)")
        var embedded = tokens
        let slotWidth = parameters.phaseSlots * parameters.channels
        for i in 0..<embedded.count {
            embedded.scalars[i] += parameters.phaseEmbedding.scalars[i % slotWidth]
        }

        let (attentionNormOutput, attentionNormStatistics) = LayerNorm.forward(
            embedded, scale: parameters.attentionNormScale, shift: parameters.attentionNormShift)
        let (attentionOutput, attention) = MultiHeadAttention.forward(attentionNormOutput, mask: mask, parameters: parameters.attention)
        let attentionResidual = add(embedded, attentionOutput)

        let (mlpNormOutput, mlpNormStatistics) = LayerNorm.forward(
            attentionResidual, scale: parameters.mlpNormScale, shift: parameters.mlpNormShift)
        let mlpHiddenPreActivation = Linear.forward(input: mlpNormOutput, weight: parameters.mlpInputWeight, bias: parameters.mlpInputBias)
        let mlpHidden = GELU.forward(mlpHiddenPreActivation)
        let mlpOutput = Linear.forward(input: mlpHidden, weight: parameters.mlpOutputWeight, bias: parameters.mlpOutputBias)
        let encoded = add(attentionResidual, mlpOutput)

        let (output, poolingWeights) = AttentionPooling.forward(encoded, mask: mask, query: parameters.poolingQuery)
        let activations = Activations(
            embedded: embedded, attentionNormOutput: attentionNormOutput, attentionNormStatistics: attentionNormStatistics,
            attention: attention, attentionResidual: attentionResidual, mlpNormOutput: mlpNormOutput,
            mlpNormStatistics: mlpNormStatistics, mlpHiddenPreActivation: mlpHiddenPreActivation, mlpHidden: mlpHidden,
            encoded: encoded, poolingWeights: poolingWeights)
        return (output, activations)
    }

    /// Computes dL/dtokens and the parameter gradients from dL/doutput, shape (B, C).
    public static func referenceBackward(
        outputGradient: Tensor, mask: [Bool], parameters: Parameters, activations: Activations
    ) -> (tokens: Tensor, parameters: Parameters) {
        let pooling = AttentionPooling.backward(
            outputGradient: outputGradient, input: activations.encoded, mask: mask,
            query: parameters.poolingQuery, weights: activations.poolingWeights)

        // z = u + MLP(LayerNorm₂(u)): the gradient reaches u directly and through the MLP.
        let mlpOutput = Linear.backward(outputGradient: pooling.input, input: activations.mlpHidden, weight: parameters.mlpOutputWeight)
        let mlpHidden = GELU.backward(outputGradient: mlpOutput.input, input: activations.mlpHiddenPreActivation)
        let mlpInput = Linear.backward(outputGradient: mlpHidden, input: activations.mlpNormOutput, weight: parameters.mlpInputWeight)
        let mlpNorm = LayerNorm.backward(
            outputGradient: mlpInput.input, input: activations.attentionResidual,
            scale: parameters.mlpNormScale, statistics: activations.mlpNormStatistics)
        let attentionResidualGradient = add(pooling.input, mlpNorm.input)

        // u = h + Attention(LayerNorm₁(h)): likewise for h.
        let attention = MultiHeadAttention.backward(
            outputGradient: attentionResidualGradient, input: activations.attentionNormOutput, mask: mask,
            parameters: parameters.attention, activations: activations.attention)
        let attentionNorm = LayerNorm.backward(
            outputGradient: attention.input, input: activations.embedded,
            scale: parameters.attentionNormScale, statistics: activations.attentionNormStatistics)
        let embeddedGradient = add(attentionResidualGradient, attentionNorm.input)

        // h = x + e: the embedding gradient sums over locations.
        var embeddingGradient = Tensor(shape: parameters.phaseEmbedding.shape)
        let slotWidth = embeddingGradient.count
        for i in 0..<embeddedGradient.count {
            embeddingGradient.scalars[i % slotWidth] += embeddedGradient.scalars[i]
        }

        let gradients = Parameters(
            phaseEmbedding: embeddingGradient,
            attentionNormScale: attentionNorm.scale, attentionNormShift: attentionNorm.shift,
            attention: attention.parameters,
            mlpNormScale: mlpNorm.scale, mlpNormShift: mlpNorm.shift,
            mlpInputWeight: mlpInput.weight, mlpInputBias: mlpInput.bias,
            mlpOutputWeight: mlpOutput.weight, mlpOutputBias: mlpOutput.bias,
            poolingQuery: pooling.query)
        return (embeddedGradient, gradients)
    }

    private static func add(_ a: Tensor, _ b: Tensor) -> Tensor {
        var sum = a
        for i in 0..<sum.count {
            sum.scalars[i] += b.scalars[i]
        }
        return sum
    }
}
