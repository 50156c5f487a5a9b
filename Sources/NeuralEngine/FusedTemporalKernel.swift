// The temporal module's forward pass on the fused kernel of the AVX-512 build, where the CPU
// runs that build and the kernel takes the module's shape. See FusedTemporalForward.swift in
// VectorKernelsAVX512.
import Dispatch
#if canImport(VectorKernelsAVX512)
import VectorKernelsAVX512
#endif

extension TemporalEncoder {
    /// Writes the module's output for every location into `output` with the fused kernel and
    /// returns true, or returns false, writing nothing, where that kernel does not apply.
    static func fusedForward(phases: Tensor, layout: BlockLayout, weights: PackedParameters, into output: inout Tensor) -> Bool {
        #if canImport(VectorKernelsAVX512)
        guard VectorKernelBuild.selected.hasFusedTemporalForward,
              FusedTemporalParameters.supports(channels: layout.channels, hiddenChannels: layout.hiddenChannels,
                                               heads: layout.heads, presentPhases: layout.present.count)
        else { return false }
        let parameters = FusedTemporalParameters(
            phaseEmbedding: weights[.phaseEmbedding],
            attentionNormScale: weights[.attentionNormScale], attentionNormShift: weights[.attentionNormShift],
            inputProjectionWeight: weights[.inputProjectionWeight], inputProjectionBias: weights[.inputProjectionBias],
            outputProjectionWeight: weights[.outputProjectionWeight], outputProjectionBias: weights[.outputProjectionBias],
            mlpNormScale: weights[.mlpNormScale], mlpNormShift: weights[.mlpNormShift],
            mlpInputWeight: weights[.mlpInputWeight], mlpInputBias: weights[.mlpInputBias],
            mlpOutputWeight: weights[.mlpOutputWeight], mlpOutputBias: weights[.mlpOutputBias],
            poolingQuery: weights[.poolingQuery],
            channels: layout.channels, hiddenChannels: layout.hiddenChannels, heads: layout.heads, normEpsilon: LayerNorm.defaultEpsilon)
        phases.scalars.withUnsafeBufferPointer { x in
            output.scalars.withUnsafeMutableBufferPointer { y in
                let (x, y) = (SendablePointer(x), SendablePointer(y))
                DispatchQueue.concurrentPerform(iterations: layout.workers) { worker in
                    for index in stride(from: worker, to: layout.blockCount, by: layout.workers) {
                        let (start, count) = layout.block(index)
                        fusedTemporalForward(
                            phases: x.base, presentSlots: layout.present, locations: layout.locations,
                            range: start..<start + count, parameters: parameters, output: y.base)
                    }
                }
            }
        }
        return true
        #else
        return false
        #endif
    }
}
