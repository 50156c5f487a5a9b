// The attention of the fused temporal kernel over one block of locations, forward and backward.
// Its loops are lane-wise arithmetic on 16-location vectors, so they run as fast as the vector
// registers are wide: this file is also compiled for AVX-512 (the VectorKernelsAVX512 module)
// and NeuralEngine picks the build the CPU can run.
//
// Layout, as in NeuralEngine's BlockKernel: a block holds S locations (a multiple of 16) of P
// present phases. The projections are transposed: 3C rows (queries, then keys, then values, head
// after head within each) of P · S columns, column p · S + l belonging to phase p at location l.
// The context and the gradients are transposed the same way, and the softmax weights have index
// ((head · P + t) · P + s) · S + l for query phase t and key phase s.

/// Computes the softmax weights and the context of every token of one block, head by head. There
/// are always four key phases: a block with fewer present phases repeats its last one, whose
/// extra copies get weight 0.
///
/// - parameters:
///   - projections: queries, keys and values, 3 · `channels` rows of `phaseCount` · `blockSize`.
///   - weights: receives the softmax weights, `heads` · `phaseCount`² · `blockSize` values.
///   - context: receives the weighted values, `channels` rows of `phaseCount` · `blockSize`.
public func attendBlock(
    projections: UnsafePointer<Float>, weights: UnsafeMutablePointer<Float>, context: UnsafeMutablePointer<Float>,
    heads: Int, channels: Int, phaseCount: Int, blockSize: Int
) {
    let headChannels = channels / heads
    let rows = phaseCount * blockSize
    let scale = 1 / Float(headChannels).squareRoot()
    let keyColumns = keyPhaseColumns(phaseCount: phaseCount, blockSize: blockSize)
    for head in 0..<heads {
        let queries = projections + head * headChannels * rows
        let keys = queries + channels * rows
        let values = keys + channels * rows
        let headContext = context + head * headChannels * rows
        for t in 0..<phaseCount {
            for l in stride(from: 0, to: blockSize, by: 16) {
                let queryColumn = t * blockSize + l
                var scores = PhaseVectors()
                for i in 0..<headChannels {
                    let query = load16(queries + i * rows + queryColumn)
                    for s in 0..<4 {
                        scores[s] += query * load16(keys + i * rows + keyColumns[s] + l)
                    }
                }
                // A repeated phase has the last present phase's score, so it leaves the maximum as is.
                var maximum = scores[0]
                for s in 1..<4 {
                    maximum = maximum.replacing(with: scores[s], where: scores[s] .> maximum)
                }
                var probabilities = PhaseVectors()
                var total = SIMD16<Float>.zero
                for s in 0..<4 {
                    probabilities[s] = s < phaseCount ? fastExp((scores[s] - maximum) * scale) : .zero
                    total += probabilities[s]
                }
                let reciprocal = 1 / total
                for s in 0..<4 {
                    probabilities[s] *= reciprocal
                    if s < phaseCount {
                        store16(probabilities[s], weights + ((head * phaseCount + t) * phaseCount + s) * blockSize + l)
                    }
                }
                for i in 0..<headChannels {
                    var weighted = SIMD16<Float>.zero
                    for s in 0..<4 {
                        weighted += probabilities[s] * load16(values + i * rows + keyColumns[s] + l)
                    }
                    store16(weighted, headContext + i * rows + queryColumn)
                }
            }
        }
    }
}

/// Computes dL/d(queries, keys, values) of one block from dL/dcontext and the block's forward
/// pass. The repeated key phases of a block with fewer than four phases have weight 0, so they
/// add nothing.
///
/// - parameters:
///   - projections, weights: what `attendBlock` read and wrote for the block.
///   - contextGradient: dL/dcontext, laid out like the context.
///   - projectionsGradient: receives dL/dprojections, laid out like the projections.
public func attendBlockBackward(
    projections: UnsafePointer<Float>, weights: UnsafePointer<Float>, contextGradient: UnsafePointer<Float>,
    projectionsGradient: UnsafeMutablePointer<Float>, heads: Int, channels: Int, phaseCount: Int, blockSize: Int
) {
    let headChannels = channels / heads
    let rows = phaseCount * blockSize
    let scale = 1 / Float(headChannels).squareRoot()
    let keyColumns = keyPhaseColumns(phaseCount: phaseCount, blockSize: blockSize)
    projectionsGradient.update(repeating: 0, count: 3 * channels * rows)
    for head in 0..<heads {
        let queries = projections + head * headChannels * rows
        let keys = queries + channels * rows
        let values = keys + channels * rows
        let queryGradients = projectionsGradient + head * headChannels * rows
        let keyGradients = queryGradients + channels * rows
        let valueGradients = keyGradients + channels * rows
        let headContextGradient = contextGradient + head * headChannels * rows
        for t in 0..<phaseCount {
            for l in stride(from: 0, to: blockSize, by: 16) {
                let queryColumn = t * blockSize + l
                var probabilities = PhaseVectors()
                for s in 0..<4 where s < phaseCount {
                    probabilities[s] = load16(weights + ((head * phaseCount + t) * phaseCount + s) * blockSize + l)
                }

                // Pass 1: dA[t][s] = dcontext_t · v_s and dv_s += A[t][s] dcontext_t.
                var weightGradients = PhaseVectors()
                for i in 0..<headChannels {
                    let upstream = load16(headContextGradient + i * rows + queryColumn)
                    for s in 0..<4 {
                        let column = i * rows + keyColumns[s] + l
                        weightGradients[s] += upstream * load16(values + column)
                        store16(load16(valueGradients + column) + probabilities[s] * upstream, valueGradients + column)
                    }
                }

                // Pass 2: through the softmax to the scores, then to q_t and k_s.
                var weightedSum = SIMD16<Float>.zero
                for s in 0..<4 {
                    weightedSum += weightGradients[s] * probabilities[s]
                }
                var scoreGradients = PhaseVectors()
                for s in 0..<4 {
                    scoreGradients[s] = probabilities[s] * (weightGradients[s] - weightedSum) * scale
                }
                for i in 0..<headChannels {
                    let query = load16(queries + i * rows + queryColumn)
                    var queryGradient = SIMD16<Float>.zero
                    for s in 0..<4 {
                        let column = i * rows + keyColumns[s] + l
                        queryGradient += scoreGradients[s] * load16(keys + column)
                        store16(load16(keyGradients + column) + scoreGradients[s] * query, keyGradients + column)
                    }
                    store16(queryGradient, queryGradients + i * rows + queryColumn)
                }
            }
        }
    }
}

/// Returns the first column of each of the four key phases: present phase s, or the last
/// present phase for s beyond the present count.
private func keyPhaseColumns(phaseCount: Int, blockSize: Int) -> SIMD4<Int> {
    let last = phaseCount - 1
    return SIMD4(0, min(1, last), min(2, last), min(3, last)) &* blockSize
}

/// Four SIMD16 vectors, one per phase, that stay in registers when indexed by constants.
struct PhaseVectors {
    private var first = SIMD16<Float>()
    private var second = SIMD16<Float>()
    private var third = SIMD16<Float>()
    private var fourth = SIMD16<Float>()

    @inline(__always)
    subscript(phase: Int) -> SIMD16<Float> {
        get {
            switch phase {
            case 0: first
            case 1: second
            case 2: third
            default: fourth
            }
        }
        set {
            switch phase {
            case 0: first = newValue
            case 1: second = newValue
            case 2: third = newValue
            default: fourth = newValue
            }
        }
    }
}
