// The fused kernels of the temporal module. They read the phase feature volumes where the
// encoder left them and process a block of locations at a time, so every intermediate stays in
// the core's cache. The projections are matrix products over the block's (phases · locations)
// rows, and everything between them runs over those rows in place. Batched-matmul code instead
// pays for transposing a million 4-token sequences into (B, T, C) and back, and for launching
// small kernels per op. The backward kernel recomputes each block's forward pass instead of
// storing activations for the whole volume.
import Dispatch
import Foundation

extension TemporalEncoder {
    /// Runs the temporal module at every location of one study with the fused kernel.
    ///
    /// Phase slots whose flag is false are skipped entirely. That is exact: masked tokens are
    /// never attended to and never pooled, so they cannot change the output.
    ///
    /// - parameters:
    ///   - phases: the encoder features of every phase slot, shape (T, D, H, W, C).
    ///   - presentPhases: one flag per phase slot, `true` where the study has that phase.
    /// - returns: the fused features, shape (1, D, H, W, C). A study with no present phase gets
    ///   zeros, as `referenceForward` gives.
    public static func forward(phases: Tensor, presentPhases: [Bool], parameters: Parameters) -> Tensor {
        let layout = BlockLayout(phases: phases, presentPhases: presentPhases, parameters: parameters)
        guard layout.blockCount > 0 else { return Tensor(shape: [1] + Array(phases.shape[1...])) }
        // The blocks cover every location, and pooling writes each one.
        var output = Tensor(uninitializedShape: [1] + Array(phases.shape[1...]))
        let weights = PackedParameters(parameters)
        if fusedForward(phases: phases, layout: layout, weights: weights, into: &output) {
            return output
        }
        phases.scalars.withUnsafeBufferPointer { x in
            output.scalars.withUnsafeMutableBufferPointer { y in
                let (x, y) = (SendablePointer(x), SendablePointer(y))
                DispatchQueue.concurrentPerform(iterations: layout.workers) { worker in
                    let block = BlockKernel(weights: weights, layout: layout, training: false)
                    defer { block.deallocate() }
                    // Blocks are interleaved across workers; every block costs the same.
                    for index in stride(from: worker, to: layout.blockCount, by: layout.workers) {
                        let (start, count) = layout.block(index)
                        block.forward(phases: x.base, start: start, count: count)
                        block.pool(start: start, count: count, into: y.base)
                    }
                }
            }
        }
        return output
    }

    /// Computes dL/dphases and the parameter gradients from dL/doutput with the fused kernel.
    ///
    /// - parameters:
    ///   - outputGradient: dL/d(fused features), shape (1, D, H, W, C).
    ///   - phases, presentPhases, parameters: the inputs of the forward pass.
    /// - returns: dL/dphases, shape (T, D, H, W, C) with zeros in missing phase slots, and the
    ///   parameter gradients.
    public static func backward(
        outputGradient: Tensor, phases: Tensor, presentPhases: [Bool], parameters: Parameters
    ) -> (phases: Tensor, parameters: Parameters) {
        let layout = BlockLayout(phases: phases, presentPhases: presentPhases, parameters: parameters)
        precondition(outputGradient.shape == [1] + Array(phases.shape[1...]), "output gradient \(outputGradient.shape) must be \([1] + Array(phases.shape[1...]))")
        var phasesGradient = Tensor(shape: phases.shape)
        let weights = PackedParameters(parameters)
        let workerGradients = (0..<max(layout.workers, 1)).map { _ in PackedParameters(zerosLike: weights) }
        if layout.blockCount > 0 {
            phases.scalars.withUnsafeBufferPointer { x in
                outputGradient.scalars.withUnsafeBufferPointer { dy in
                    phasesGradient.scalars.withUnsafeMutableBufferPointer { dx in
                        let (x, dy, dx) = (SendablePointer(x), SendablePointer(dy), SendablePointer(dx))
                        DispatchQueue.concurrentPerform(iterations: layout.workers) { worker in
                            let block = BlockKernel(weights: weights, layout: layout, training: true)
                            defer { block.deallocate() }
                            for index in stride(from: worker, to: layout.blockCount, by: layout.workers) {
                                let (start, count) = layout.block(index)
                                block.forward(phases: x.base, start: start, count: count)
                                block.backward(
                                    outputGradient: dy.base, start: start, count: count,
                                    phasesGradient: dx.base, gradients: workerGradients[worker])
                            }
                        }
                    }
                }
            }
        }
        for other in workerGradients.dropFirst() {
            workerGradients[0].add(other)
        }
        return (phasesGradient, workerGradients[0].unpack(like: parameters))
    }
}

/// The split of a study's locations into blocks and of the blocks over worker threads.
struct BlockLayout: Sendable {
    let slots: Int
    let present: [Int]
    let locations: Int
    let channels: Int
    let hiddenChannels: Int
    let heads: Int
    let blockLocations: Int
    let blockCount: Int
    let workers: Int

    init(phases: Tensor, presentPhases: [Bool], parameters: TemporalEncoder.Parameters) {
        precondition(phases.rank == 5, "phase features must be (T, D, H, W, C), got \(phases.shape)")
        precondition(phases.shape[0] == parameters.phaseSlots, "\(phases.shape[0]) phase volumes for \(parameters.phaseSlots) phase slots")
        precondition(phases.shape[4] == parameters.channels, "phase features have \(phases.shape[4]) channels, the module \(parameters.channels)")
        precondition(presentPhases.count == parameters.phaseSlots, "need \(parameters.phaseSlots) phase flags, got \(presentPhases.count)")
        slots = parameters.phaseSlots
        present = presentPhases.indices.filter { presentPhases[$0] }
        precondition(present.count <= 4, "the fused temporal kernel takes at most four present phases, got \(present.count)")
        locations = phases.shape[1] * phases.shape[2] * phases.shape[3]
        channels = parameters.channels
        hiddenChannels = parameters.hiddenChannels
        heads = parameters.attention.heads

        // About 512 KiB of activation rows per block, so that a block stays in a core's L2
        // cache on current x86 server parts. The count leaves out the MLP's bias rows, which are
        // only read.
        let floatsPerLocation = max(present.count, 1) * (10 * channels + 2 * hiddenChannels)
        blockLocations = min(max(131_072 / floatsPerLocation / 16 * 16, 16), 1024)
        blockCount = present.isEmpty ? 0 : (locations + blockLocations - 1) / blockLocations
        workers = min(ProcessInfo.processInfo.activeProcessorCount, blockCount)
    }

    /// Returns the first location and the location count of block `index`.
    func block(_ index: Int) -> (start: Int, count: Int) {
        let start = index * blockLocations
        return (start, min(blockLocations, locations - start))
    }
}

/// The module's parameters, or their gradients, in one contiguous buffer that worker threads
/// share. Parameter copies are only read; each worker adds into its own gradient copy.
final class PackedParameters: @unchecked Sendable {
    enum Slot: Int, CaseIterable {
        case phaseEmbedding, attentionNormScale, attentionNormShift
        case inputProjectionWeight, inputProjectionBias, outputProjectionWeight, outputProjectionBias
        case mlpNormScale, mlpNormShift, mlpInputWeight, mlpInputBias, mlpOutputWeight, mlpOutputBias
        case poolingQuery
    }

    private let storage: UnsafeMutableBufferPointer<Float>
    private let offsets: [Int]

    init(_ parameters: TemporalEncoder.Parameters) {
        let tensors = Self.tensors(of: parameters)
        offsets = tensors.reduce(into: [0]) { $0.append($0.last! + $1.count) }
        storage = .allocate(capacity: offsets.last!)
        for (tensor, offset) in zip(tensors, offsets) {
            _ = UnsafeMutableBufferPointer(rebasing: storage[offset..<offset + tensor.count]).initialize(from: tensor.scalars)
        }
    }

    init(zerosLike other: PackedParameters) {
        offsets = other.offsets
        storage = .allocate(capacity: offsets.last!)
        storage.initialize(repeating: 0)
    }

    deinit {
        storage.deallocate()
    }

    subscript(slot: Slot) -> UnsafeMutablePointer<Float> {
        storage.baseAddress! + offsets[slot.rawValue]
    }

    func add(_ other: PackedParameters) {
        for i in storage.indices {
            storage[i] += other.storage[i]
        }
    }

    /// Copies the buffer back into tensors shaped like `template`.
    func unpack(like template: TemporalEncoder.Parameters) -> TemporalEncoder.Parameters {
        let tensors = Self.tensors(of: template).enumerated().map { index, tensor in
            Tensor(shape: tensor.shape, scalars: Array(storage[offsets[index]..<offsets[index + 1]]))
        }
        return TemporalEncoder.Parameters(
            phaseEmbedding: tensors[0], attentionNormScale: tensors[1], attentionNormShift: tensors[2],
            attention: MultiHeadAttention.Parameters(
                heads: template.attention.heads,
                inputProjectionWeight: tensors[3], inputProjectionBias: tensors[4],
                outputProjectionWeight: tensors[5], outputProjectionBias: tensors[6]),
            mlpNormScale: tensors[7], mlpNormShift: tensors[8],
            mlpInputWeight: tensors[9], mlpInputBias: tensors[10], mlpOutputWeight: tensors[11], mlpOutputBias: tensors[12],
            poolingQuery: tensors[13])
    }

    /// Returns the parameter tensors in `Slot` order.
    private static func tensors(of parameters: TemporalEncoder.Parameters) -> [Tensor] {
        [
            parameters.phaseEmbedding, parameters.attentionNormScale, parameters.attentionNormShift,
            parameters.attention.inputProjectionWeight, parameters.attention.inputProjectionBias,
            parameters.attention.outputProjectionWeight, parameters.attention.outputProjectionBias,
            parameters.mlpNormScale, parameters.mlpNormShift,
            parameters.mlpInputWeight, parameters.mlpInputBias, parameters.mlpOutputWeight, parameters.mlpOutputBias,
            parameters.poolingQuery,
        ]
    }
}
