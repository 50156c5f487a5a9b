// Builds the temporal module's parameters from outside the module, for models that load them by name.

extension TemporalEncoder.Parameters {
    /// Returns parameters made of loaded tensors; the shapes are those documented on each property.
    public static func loaded(
        phaseEmbedding: Tensor, attentionNormScale: Tensor, attentionNormShift: Tensor, attention: MultiHeadAttention.Parameters,
        mlpNormScale: Tensor, mlpNormShift: Tensor, mlpInputWeight: Tensor, mlpInputBias: Tensor,
        mlpOutputWeight: Tensor, mlpOutputBias: Tensor, poolingQuery: Tensor
    ) -> TemporalEncoder.Parameters {
        TemporalEncoder.Parameters(
            phaseEmbedding: phaseEmbedding, attentionNormScale: attentionNormScale, attentionNormShift: attentionNormShift,
            attention: attention, mlpNormScale: mlpNormScale, mlpNormShift: mlpNormShift, mlpInputWeight: mlpInputWeight,
            mlpInputBias: mlpInputBias, mlpOutputWeight: mlpOutputWeight, mlpOutputBias: mlpOutputBias, poolingQuery: poolingQuery)
    }
}
