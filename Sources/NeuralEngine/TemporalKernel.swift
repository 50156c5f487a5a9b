// The fused forward kernel of the temporal module. It reads the phase feature volumes where the
// encoder left them and processes a block of locations at a time, so every intermediate stays in
// the core's cache: the projections are four matrix products of (phases · block) rows, and
// everything between them runs over those rows in place. Batched-matmul code instead pays for
// transposing a million 4-token sequences into (B, T, C) and back, and for launching tiny
// kernels per op.
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
        precondition(phases.rank == 5, "phase features must be (T, D, H, W, C), got \(phases.shape)")
        precondition(phases.shape[0] == parameters.phaseSlots, "\(phases.shape[0]) phase volumes for \(parameters.phaseSlots) phase slots")
        precondition(phases.shape[4] == parameters.channels, "phase features have \(phases.shape[4]) channels, the module \(parameters.channels)")
        precondition(presentPhases.count == parameters.phaseSlots, "need \(parameters.phaseSlots) phase flags, got \(presentPhases.count)")
        let locations = phases.shape[1] * phases.shape[2] * phases.shape[3]
        var output = Tensor(shape: [1] + Array(phases.shape[1...]))
        let present = presentPhases.indices.filter { presentPhases[$0] }
        guard !present.isEmpty, locations > 0 else { return output }

        let weights = PackedWeights(parameters)
        let blockLocations = blockSize(phases: present.count, parameters: parameters)
        let blockCount = (locations + blockLocations - 1) / blockLocations
        let workers = min(ProcessInfo.processInfo.activeProcessorCount, blockCount)
        phases.scalars.withUnsafeBufferPointer { x in
            output.scalars.withUnsafeMutableBufferPointer { y in
                let (x, y) = (SendablePointer(x), SendablePointer(y))
                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                    let block = BlockKernel(weights: weights, present: present, blockLocations: blockLocations)
                    // Blocks are interleaved across workers; every block costs the same.
                    for index in stride(from: worker, to: blockCount, by: workers) {
                        let start = index * blockLocations
                        block.run(
                            phases: x.base, locations: locations, start: start,
                            count: min(blockLocations, locations - start), output: y.base)
                    }
                    block.deallocate()
                }
            }
        }
        return output
    }

    /// Picks the locations per block so that the block's scratch rows take about 256 KiB, which
    /// stays in a core's L2 cache on current x86 server parts.
    static func blockSize(phases: Int, parameters: Parameters) -> Int {
        let floatsPerLocation = phases * (6 * parameters.channels + parameters.hiddenChannels)
        let target = 65_536 / max(floatsPerLocation, 1)
        return min(max(target / 16 * 16, 16), 1024)
    }
}

/// The module's parameters copied into one buffer that worker threads share read-only.
private final class PackedWeights: @unchecked Sendable {
    let channels: Int
    let hiddenChannels: Int
    let heads: Int
    let epsilon = LayerNorm.defaultEpsilon
    private let storage: UnsafeMutableBufferPointer<Float>
    let phaseEmbedding, attentionNormScale, attentionNormShift: UnsafePointer<Float>
    let inputProjectionWeight, inputProjectionBias, outputProjectionWeight, outputProjectionBias: UnsafePointer<Float>
    let mlpNormScale, mlpNormShift: UnsafePointer<Float>
    let mlpInputWeight, mlpInputBias, mlpOutputWeight, mlpOutputBias, poolingQuery: UnsafePointer<Float>

    init(_ parameters: TemporalEncoder.Parameters) {
        channels = parameters.channels
        hiddenChannels = parameters.hiddenChannels
        heads = parameters.attention.heads
        let tensors = [
            parameters.phaseEmbedding, parameters.attentionNormScale, parameters.attentionNormShift,
            parameters.attention.inputProjectionWeight, parameters.attention.inputProjectionBias,
            parameters.attention.outputProjectionWeight, parameters.attention.outputProjectionBias,
            parameters.mlpNormScale, parameters.mlpNormShift,
            parameters.mlpInputWeight, parameters.mlpInputBias, parameters.mlpOutputWeight, parameters.mlpOutputBias,
            parameters.poolingQuery,
        ]
        storage = .allocate(capacity: tensors.reduce(0) { $0 + $1.count })
        var pointers: [UnsafePointer<Float>] = []
        var offset = 0
        for tensor in tensors {
            _ = UnsafeMutableBufferPointer(rebasing: storage[offset..<offset + tensor.count]).initialize(from: tensor.scalars)
            pointers.append(UnsafePointer(storage.baseAddress! + offset))
            offset += tensor.count
        }
        (phaseEmbedding, attentionNormScale, attentionNormShift) = (pointers[0], pointers[1], pointers[2])
        (inputProjectionWeight, inputProjectionBias) = (pointers[3], pointers[4])
        (outputProjectionWeight, outputProjectionBias) = (pointers[5], pointers[6])
        (mlpNormScale, mlpNormShift) = (pointers[7], pointers[8])
        (mlpInputWeight, mlpInputBias, mlpOutputWeight, mlpOutputBias) = (pointers[9], pointers[10], pointers[11], pointers[12])
        poolingQuery = pointers[13]
    }

    deinit {
        storage.deallocate()
    }
}

/// One worker's scratch rows and the steps of the kernel over one block of locations.
///
/// Row r = p · n + l of every scratch matrix belongs to present phase p at location l of a block
/// of n locations.
private struct BlockKernel {
    let weights: PackedWeights
    let present: [Int]
    /// Token rows h = x + e, later reused for the encoded tokens z.
    let tokens: UnsafeMutablePointer<Float>
    /// Layer norm outputs, and the attention context in between.
    let normalized: UnsafeMutablePointer<Float>
    /// Query, key and value rows, 3C wide.
    let projections: UnsafeMutablePointer<Float>
    /// Residual rows u.
    let residual: UnsafeMutablePointer<Float>
    /// MLP hidden rows.
    let hidden: UnsafeMutablePointer<Float>
    /// Softmax scores of one query or one pooling, one per present phase.
    let scores: UnsafeMutablePointer<Float>

    init(weights: PackedWeights, present: [Int], blockLocations: Int) {
        self.weights = weights
        self.present = present
        let rows = present.count * blockLocations
        tokens = .allocate(capacity: rows * weights.channels)
        normalized = .allocate(capacity: rows * weights.channels)
        projections = .allocate(capacity: rows * 3 * weights.channels)
        residual = .allocate(capacity: rows * weights.channels)
        hidden = .allocate(capacity: rows * weights.hiddenChannels)
        scores = .allocate(capacity: present.count)
    }

    func deallocate() {
        for buffer in [tokens, normalized, projections, residual, hidden, scores] {
            buffer.deallocate()
        }
    }

    /// Computes the fused vectors of locations start..<start + count.
    func run(phases: UnsafePointer<Float>, locations: Int, start: Int, count n: Int, output: UnsafeMutablePointer<Float>) {
        let channels = weights.channels
        let hiddenChannels = weights.hiddenChannels
        let phaseCount = present.count
        let rows = phaseCount * n

        // Step 1: gather the tokens and add each phase slot's embedding.
        for (p, slot) in present.enumerated() {
            let source = phases + (slot * locations + start) * channels
            let embedding = weights.phaseEmbedding + slot * channels
            let destination = tokens + p * n * channels
            for l in 0..<n {
                let sourceRow = source + l * channels
                let destinationRow = destination + l * channels
                for c in 0..<channels {
                    destinationRow[c] = sourceRow[c] + embedding[c]
                }
            }
        }

        // Step 2: u = h + W_o · Attention(LayerNorm₁(h)) + b_o.
        LayerNorm.normalizeRows(
            tokens, into: normalized, rows: rows, width: channels,
            scale: weights.attentionNormScale, shift: weights.attentionNormShift, epsilon: weights.epsilon)
        fillRows(projections, rows: rows, with: weights.inputProjectionBias, width: 3 * channels)
        sgemm(
            transposeA: false, transposeB: true, m: rows, n: 3 * channels, k: channels,
            a: normalized, lda: channels, b: weights.inputProjectionWeight, ldb: channels,
            beta: 1, c: projections, ldc: 3 * channels)
        attend(locations: n)
        addRows(residual, tokens, plus: weights.outputProjectionBias, rows: rows, width: channels)
        sgemm(
            transposeA: false, transposeB: true, m: rows, n: channels, k: channels,
            a: normalized, lda: channels, b: weights.outputProjectionWeight, ldb: channels,
            beta: 1, c: residual, ldc: channels)

        // Step 3: z = u + W₂ GELU(W₁ LayerNorm₂(u) + b₁) + b₂, written over the token rows.
        LayerNorm.normalizeRows(
            residual, into: normalized, rows: rows, width: channels,
            scale: weights.mlpNormScale, shift: weights.mlpNormShift, epsilon: weights.epsilon)
        fillRows(hidden, rows: rows, with: weights.mlpInputBias, width: hiddenChannels)
        sgemm(
            transposeA: false, transposeB: true, m: rows, n: hiddenChannels, k: channels,
            a: normalized, lda: channels, b: weights.mlpInputWeight, ldb: channels,
            beta: 1, c: hidden, ldc: hiddenChannels)
        GELU.applyInPlace(hidden, count: rows * hiddenChannels)
        addRows(tokens, residual, plus: weights.mlpOutputBias, rows: rows, width: channels)
        sgemm(
            transposeA: false, transposeB: true, m: rows, n: channels, k: hiddenChannels,
            a: hidden, lda: hiddenChannels, b: weights.mlpOutputWeight, ldb: hiddenChannels,
            beta: 1, c: tokens, ldc: channels)

        // Step 4: attention pooling of the encoded tokens into the output volume.
        pool(locations: n, into: output + start * channels)
    }

    /// Writes the attention context of every token into `normalized`, head by head.
    private func attend(locations n: Int) {
        let channels = weights.channels
        let headChannels = channels / weights.heads
        let phaseCount = present.count
        let scale = 1 / Float(headChannels).squareRoot()
        for l in 0..<n {
            for head in 0..<weights.heads {
                for t in 0..<phaseCount {
                    let query = projections + (t * n + l) * 3 * channels + head * headChannels
                    var maximum = -Float.infinity
                    for s in 0..<phaseCount {
                        let key = projections + (s * n + l) * 3 * channels + channels + head * headChannels
                        scores[s] = dot(query, key, count: headChannels) * scale
                        maximum = max(maximum, scores[s])
                    }
                    var sum: Float = 0
                    for s in 0..<phaseCount {
                        scores[s] = expf(scores[s] - maximum)
                        sum += scores[s]
                    }
                    let context = normalized + (t * n + l) * channels + head * headChannels
                    for i in 0..<headChannels {
                        context[i] = 0
                    }
                    let inverseSum = 1 / sum
                    for s in 0..<phaseCount {
                        let value = projections + (s * n + l) * 3 * channels + 2 * channels + head * headChannels
                        let weight = scores[s] * inverseSum
                        for i in 0..<headChannels {
                            context[i] += weight * value[i]
                        }
                    }
                }
            }
        }
    }

    /// Pools the encoded token rows of each location into `output`, C values per location.
    private func pool(locations n: Int, into output: UnsafeMutablePointer<Float>) {
        let channels = weights.channels
        let phaseCount = present.count
        let scale = 1 / Float(channels).squareRoot()
        for l in 0..<n {
            var maximum = -Float.infinity
            for p in 0..<phaseCount {
                let token = tokens + (p * n + l) * channels
                scores[p] = dot(token, weights.poolingQuery, count: channels) * scale
                maximum = max(maximum, scores[p])
            }
            var sum: Float = 0
            for p in 0..<phaseCount {
                scores[p] = expf(scores[p] - maximum)
                sum += scores[p]
            }
            let fused = output + l * channels
            for c in 0..<channels {
                fused[c] = 0
            }
            for p in 0..<phaseCount {
                let token = tokens + (p * n + l) * channels
                let weight = scores[p] / sum
                for c in 0..<channels {
                    fused[c] += weight * token[c]
                }
            }
        }
    }

    private func fillRows(_ matrix: UnsafeMutablePointer<Float>, rows: Int, with row: UnsafePointer<Float>, width: Int) {
        for r in 0..<rows {
            (matrix + r * width).update(from: row, count: width)
        }
    }

    /// Sets destination = source + row, broadcasting `row` over the rows.
    private func addRows(
        _ destination: UnsafeMutablePointer<Float>, _ source: UnsafePointer<Float>,
        plus row: UnsafePointer<Float>, rows: Int, width: Int
    ) {
        // Row pointers keep the inner loop free of index arithmetic, so it vectorises.
        for r in 0..<rows {
            let sourceRow = source + r * width
            let destinationRow = destination + r * width
            for c in 0..<width {
                destinationRow[c] = sourceRow[c] + row[c]
            }
        }
    }
}
