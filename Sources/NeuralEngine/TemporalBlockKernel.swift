// One worker's scratch memory and the steps of the fused temporal kernels over one block of
// locations: the forward pass (which keeps every activation of the block) and the backward pass
// (which consumes them). Row r = p · n + l of every matrix belongs to present phase p at
// location l of a block of n locations.

struct BlockKernel {
    let weights: PackedParameters
    let layout: BlockLayout
    private let storage: UnsafeMutableBufferPointer<Float>

    // Forward activations.
    /// h = x + e.
    let tokens: UnsafeMutablePointer<Float>
    /// LayerNorm₁(h), its row means and reciprocal standard deviations.
    let attentionNormOutput, attentionNormMean, attentionNormRstd: UnsafeMutablePointer<Float>
    /// Query, key and value rows, 3C wide.
    let projections: UnsafeMutablePointer<Float>
    /// Softmax weights, index ((l · heads + head) · P + t) · P + s.
    let attentionWeights: UnsafeMutablePointer<Float>
    /// Weighted values, heads concatenated.
    let context: UnsafeMutablePointer<Float>
    /// u = h + attention output.
    let residual: UnsafeMutablePointer<Float>
    /// LayerNorm₂(u), its row means and reciprocal standard deviations.
    let mlpNormOutput, mlpNormMean, mlpNormRstd: UnsafeMutablePointer<Float>
    /// The MLP's hidden rows before and after GELU.
    let hiddenPreActivation, hidden: UnsafeMutablePointer<Float>
    /// z = u + MLP output.
    let encoded: UnsafeMutablePointer<Float>
    /// Pooling weights, index l · P + p.
    let poolingWeights: UnsafeMutablePointer<Float>
    /// Softmax scores or their gradients for one query, P values.
    let scores: UnsafeMutablePointer<Float>

    // Backward gradients; they alias nothing and exist only when training.
    let encodedGradient, residualGradient, normGradient, contextGradient, tokensGradient: UnsafeMutablePointer<Float>
    let hiddenGradient, projectionsGradient: UnsafeMutablePointer<Float>

    init(weights: PackedParameters, layout: BlockLayout, training: Bool) {
        self.weights = weights
        self.layout = layout
        let phaseCount = layout.present.count
        let rows = phaseCount * layout.blockLocations
        let (c, hiddenWidth) = (layout.channels, layout.hiddenChannels)
        var sizes = [
            rows * c, rows * c, rows, rows, rows * 3 * c,
            layout.blockLocations * layout.heads * phaseCount * phaseCount,
            rows * c, rows * c, rows * c, rows, rows, rows * hiddenWidth, rows * hiddenWidth, rows * c,
            layout.blockLocations * phaseCount, phaseCount,
        ]
        let gradientSizes = [rows * c, rows * c, rows * c, rows * c, rows * c, rows * hiddenWidth, rows * 3 * c]
        sizes += training ? gradientSizes : gradientSizes.map { _ in 0 }
        storage = .allocate(capacity: sizes.reduce(0, +))
        var pointers: [UnsafeMutablePointer<Float>] = []
        var offset = 0
        for size in sizes {
            pointers.append(storage.baseAddress! + offset)
            offset += size
        }
        (tokens, attentionNormOutput, attentionNormMean, attentionNormRstd, projections) = (pointers[0], pointers[1], pointers[2], pointers[3], pointers[4])
        (attentionWeights, context, residual) = (pointers[5], pointers[6], pointers[7])
        (mlpNormOutput, mlpNormMean, mlpNormRstd) = (pointers[8], pointers[9], pointers[10])
        (hiddenPreActivation, hidden, encoded, poolingWeights, scores) = (pointers[11], pointers[12], pointers[13], pointers[14], pointers[15])
        (encodedGradient, residualGradient, normGradient, contextGradient, tokensGradient) = (pointers[16], pointers[17], pointers[18], pointers[19], pointers[20])
        (hiddenGradient, projectionsGradient) = (pointers[21], pointers[22])
    }

    func deallocate() {
        storage.deallocate()
    }

    // MARK: - Forward

    /// Computes the encoded tokens z of locations start..<start + n, keeping every activation.
    func forward(phases: UnsafePointer<Float>, start: Int, count n: Int) {
        let channels = layout.channels
        let hiddenChannels = layout.hiddenChannels
        let rows = layout.present.count * n

        // Step 1: gather the tokens and add each phase slot's embedding.
        for (p, slot) in layout.present.enumerated() {
            let embedding = weights[.phaseEmbedding] + slot * channels
            for l in 0..<n {
                let sourceRow = phases + (slot * layout.locations + start + l) * channels
                let tokenRow = tokens + (p * n + l) * channels
                for c in 0..<channels {
                    tokenRow[c] = sourceRow[c] + embedding[c]
                }
            }
        }

        // Step 2: u = h + W_o · Attention(LayerNorm₁(h)) + b_o.
        LayerNorm.normalizeRows(
            tokens, into: attentionNormOutput, rows: rows, width: channels,
            scale: weights[.attentionNormScale], shift: weights[.attentionNormShift], epsilon: LayerNorm.defaultEpsilon,
            mean: attentionNormMean, reciprocalStandardDeviation: attentionNormRstd)
        fillRows(projections, rows: rows, with: weights[.inputProjectionBias], width: 3 * channels)
        sgemm(
            transposeA: false, transposeB: true, m: rows, n: 3 * channels, k: channels,
            a: attentionNormOutput, lda: channels, b: weights[.inputProjectionWeight], ldb: channels,
            beta: 1, c: projections, ldc: 3 * channels)
        attend(count: n)
        addRows(residual, tokens, plus: weights[.outputProjectionBias], rows: rows, width: channels)
        sgemm(
            transposeA: false, transposeB: true, m: rows, n: channels, k: channels,
            a: context, lda: channels, b: weights[.outputProjectionWeight], ldb: channels,
            beta: 1, c: residual, ldc: channels)

        // Step 3: z = u + W₂ GELU(W₁ LayerNorm₂(u) + b₁) + b₂.
        LayerNorm.normalizeRows(
            residual, into: mlpNormOutput, rows: rows, width: channels,
            scale: weights[.mlpNormScale], shift: weights[.mlpNormShift], epsilon: LayerNorm.defaultEpsilon,
            mean: mlpNormMean, reciprocalStandardDeviation: mlpNormRstd)
        fillRows(hiddenPreActivation, rows: rows, with: weights[.mlpInputBias], width: hiddenChannels)
        sgemm(
            transposeA: false, transposeB: true, m: rows, n: hiddenChannels, k: channels,
            a: mlpNormOutput, lda: channels, b: weights[.mlpInputWeight], ldb: channels,
            beta: 1, c: hiddenPreActivation, ldc: hiddenChannels)
        GELU.apply(hiddenPreActivation, into: hidden, count: rows * hiddenChannels)
        addRows(encoded, residual, plus: weights[.mlpOutputBias], rows: rows, width: channels)
        sgemm(
            transposeA: false, transposeB: true, m: rows, n: channels, k: hiddenChannels,
            a: hidden, lda: hiddenChannels, b: weights[.mlpOutputWeight], ldb: hiddenChannels,
            beta: 1, c: encoded, ldc: channels)
    }

    /// Computes the attention weights and the context of every token, head by head. The present
    /// phases (at most four) occupy the lanes of a SIMD4 vector, so the scores of one query
    /// against every key, their softmax and the weighting of the values are lane-wise.
    private func attend(count n: Int) {
        let channels = layout.channels
        let heads = layout.heads
        let headChannels = channels / heads
        let phaseCount = layout.present.count
        let scale = 1 / Float(headChannels).squareRoot()
        let absent = SIMD4<Float>(0, 1, 2, 3) .>= SIMD4(repeating: Float(phaseCount))
        // One head's keys and values, channel by channel with one phase per lane. Absent lanes stay 0.
        let keys = UnsafeMutablePointer<SIMD4<Float>>.allocate(capacity: 2 * headChannels)
        defer { keys.deallocate() }
        let values = keys + headChannels
        keys.initialize(repeating: .zero, count: 2 * headChannels)
        for l in 0..<n {
            for head in 0..<heads {
                for s in 0..<phaseCount {
                    let key = projections + (s * n + l) * 3 * channels + channels + head * headChannels
                    let value = key + channels
                    for i in 0..<headChannels {
                        keys[i][s] = key[i]
                        values[i][s] = value[i]
                    }
                }
                for t in 0..<phaseCount {
                    let query = projections + (t * n + l) * 3 * channels + head * headChannels
                    var scores = SIMD4<Float>()
                    for i in 0..<headChannels {
                        scores += query[i] * keys[i]
                    }
                    scores = (scores * scale).replacing(with: -.greatestFiniteMagnitude, where: absent)
                    // The generic SIMD max() reduction is not specialised and costs a call per query.
                    let maximum = max(max(scores[0], scores[1]), max(scores[2], scores[3]))
                    let exponentials = fastExp(scores - maximum).replacing(with: 0, where: absent)
                    let weights = exponentials * (1 / exponentials.sum())
                    let weightRow = attentionWeights + ((l * heads + head) * phaseCount + t) * phaseCount
                    for s in 0..<phaseCount {
                        weightRow[s] = weights[s]
                    }
                    let contextRow = context + (t * n + l) * channels + head * headChannels
                    for i in 0..<headChannels {
                        contextRow[i] = (weights * values[i]).sum()
                    }
                }
            }
        }
    }

    /// Computes the pooling weights of locations start..<start + n and, unless `output` is nil,
    /// pools the encoded tokens into it, C values per location of the whole volume.
    func pool(start: Int, count n: Int, into output: UnsafeMutablePointer<Float>?) {
        let channels = layout.channels
        let phaseCount = layout.present.count
        let scale = 1 / Float(channels).squareRoot()
        for l in 0..<n {
            let weightRow = poolingWeights + l * phaseCount
            for p in 0..<phaseCount {
                weightRow[p] = dot(encoded + (p * n + l) * channels, weights[.poolingQuery], count: channels) * scale
            }
            softmaxInPlace(weightRow, count: phaseCount)
            guard let output else { continue }
            let fused = output + (start + l) * channels
            for c in 0..<channels {
                fused[c] = 0
            }
            for p in 0..<phaseCount {
                let token = encoded + (p * n + l) * channels
                for c in 0..<channels {
                    fused[c] += weightRow[p] * token[c]
                }
            }
        }
    }

    // MARK: - Backward

    /// Backpropagates dL/doutput of locations start..<start + n through the block's saved
    /// activations: writes dL/dphases of the present slots and adds the parameter gradients
    /// into `gradients`. Call `forward` on the same block first.
    func backward(
        outputGradient: UnsafePointer<Float>, start: Int, count n: Int,
        phasesGradient: UnsafeMutablePointer<Float>, gradients: PackedParameters
    ) {
        let channels = layout.channels
        let hiddenChannels = layout.hiddenChannels
        let rows = layout.present.count * n

        // Step 1: through the pooling to dL/dz.
        pool(start: start, count: n, into: nil)
        poolBackward(outputGradient: outputGradient + start * channels, count: n, gradients: gradients)

        // Step 2: through the MLP. dL/du gets dL/dz directly and through LayerNorm₂.
        sgemm(
            transposeA: true, transposeB: false, m: channels, n: hiddenChannels, k: rows,
            a: encodedGradient, lda: channels, b: hidden, ldb: hiddenChannels,
            beta: 1, c: gradients[.mlpOutputWeight], ldc: hiddenChannels)
        addColumnSums(encodedGradient, rows: rows, width: channels, into: gradients[.mlpOutputBias])
        sgemm(
            transposeA: false, transposeB: false, m: rows, n: hiddenChannels, k: channels,
            a: encodedGradient, lda: channels, b: weights[.mlpOutputWeight], ldb: hiddenChannels,
            beta: 0, c: hiddenGradient, ldc: hiddenChannels)
        GELU.multiplyByDerivative(hiddenGradient, inputs: hiddenPreActivation, count: rows * hiddenChannels)
        sgemm(
            transposeA: true, transposeB: false, m: hiddenChannels, n: channels, k: rows,
            a: hiddenGradient, lda: hiddenChannels, b: mlpNormOutput, ldb: channels,
            beta: 1, c: gradients[.mlpInputWeight], ldc: channels)
        addColumnSums(hiddenGradient, rows: rows, width: hiddenChannels, into: gradients[.mlpInputBias])
        sgemm(
            transposeA: false, transposeB: false, m: rows, n: channels, k: hiddenChannels,
            a: hiddenGradient, lda: hiddenChannels, b: weights[.mlpInputWeight], ldb: channels,
            beta: 0, c: normGradient, ldc: channels)
        LayerNorm.backwardRows(
            outputGradient: normGradient, input: residual, rows: rows, width: channels,
            mean: mlpNormMean, reciprocalStandardDeviation: mlpNormRstd, scale: weights[.mlpNormScale],
            inputGradient: residualGradient,
            scaleGradient: gradients[.mlpNormScale], shiftGradient: gradients[.mlpNormShift])
        addInPlace(residualGradient, encodedGradient, count: rows * channels)

        // Step 3: through the attention. dL/dh gets dL/du directly and through LayerNorm₁.
        sgemm(
            transposeA: true, transposeB: false, m: channels, n: channels, k: rows,
            a: residualGradient, lda: channels, b: context, ldb: channels,
            beta: 1, c: gradients[.outputProjectionWeight], ldc: channels)
        addColumnSums(residualGradient, rows: rows, width: channels, into: gradients[.outputProjectionBias])
        sgemm(
            transposeA: false, transposeB: false, m: rows, n: channels, k: channels,
            a: residualGradient, lda: channels, b: weights[.outputProjectionWeight], ldb: channels,
            beta: 0, c: contextGradient, ldc: channels)
        attendBackward(count: n)
        sgemm(
            transposeA: true, transposeB: false, m: 3 * channels, n: channels, k: rows,
            a: projectionsGradient, lda: 3 * channels, b: attentionNormOutput, ldb: channels,
            beta: 1, c: gradients[.inputProjectionWeight], ldc: channels)
        addColumnSums(projectionsGradient, rows: rows, width: 3 * channels, into: gradients[.inputProjectionBias])
        sgemm(
            transposeA: false, transposeB: false, m: rows, n: channels, k: 3 * channels,
            a: projectionsGradient, lda: 3 * channels, b: weights[.inputProjectionWeight], ldb: channels,
            beta: 0, c: normGradient, ldc: channels)
        LayerNorm.backwardRows(
            outputGradient: normGradient, input: tokens, rows: rows, width: channels,
            mean: attentionNormMean, reciprocalStandardDeviation: attentionNormRstd, scale: weights[.attentionNormScale],
            inputGradient: tokensGradient,
            scaleGradient: gradients[.attentionNormScale], shiftGradient: gradients[.attentionNormShift])
        addInPlace(tokensGradient, residualGradient, count: rows * channels)

        // Step 4: h = x + e, so dL/dx = dL/dh and dL/de sums over locations.
        for (p, slot) in layout.present.enumerated() {
            let embeddingGradient = gradients[.phaseEmbedding] + slot * channels
            for l in 0..<n {
                let gradientRow = tokensGradient + (p * n + l) * channels
                let destinationRow = phasesGradient + (slot * layout.locations + start + l) * channels
                for c in 0..<channels {
                    destinationRow[c] = gradientRow[c]
                    embeddingGradient[c] += gradientRow[c]
                }
            }
        }
    }

    /// Writes dL/dz into `encodedGradient` and adds dL/dq, from dL/doutput rows of the block.
    private func poolBackward(outputGradient: UnsafePointer<Float>, count n: Int, gradients: PackedParameters) {
        let channels = layout.channels
        let phaseCount = layout.present.count
        let scale = 1 / Float(channels).squareRoot()
        let query = weights[.poolingQuery]
        let queryGradient = gradients[.poolingQuery]
        for l in 0..<n {
            let gradientRow = outputGradient + l * channels
            let weightRow = poolingWeights + l * phaseCount

            // Pass 1: da_p = dy · z_p, and the direct path dz_p = a_p dy.
            var weightedSum: Float = 0
            for p in 0..<phaseCount {
                let token = encoded + (p * n + l) * channels
                let tokenGradient = encodedGradient + (p * n + l) * channels
                scores[p] = dot(gradientRow, token, count: channels)
                weightedSum += scores[p] * weightRow[p]
                for c in 0..<channels {
                    tokenGradient[c] = weightRow[p] * gradientRow[c]
                }
            }

            // Pass 2: through the softmax to the scores, then to z_p and q.
            for p in 0..<phaseCount {
                let scoreGradient = weightRow[p] * (scores[p] - weightedSum) * scale
                let token = encoded + (p * n + l) * channels
                let tokenGradient = encodedGradient + (p * n + l) * channels
                for c in 0..<channels {
                    tokenGradient[c] += scoreGradient * query[c]
                    queryGradient[c] += scoreGradient * token[c]
                }
            }
        }
    }

    /// Writes dL/d(q, k, v) into `projectionsGradient` from dL/dcontext.
    private func attendBackward(count n: Int) {
        let channels = layout.channels
        let heads = layout.heads
        let headChannels = channels / heads
        let phaseCount = layout.present.count
        let scale = 1 / Float(headChannels).squareRoot()
        projectionsGradient.update(repeating: 0, count: phaseCount * n * 3 * channels)
        for l in 0..<n {
            for head in 0..<heads {
                for t in 0..<phaseCount {
                    let weightRow = attentionWeights + ((l * heads + head) * phaseCount + t) * phaseCount
                    let contextGradientRow = contextGradient + (t * n + l) * channels + head * headChannels

                    // Pass 1: dA[t][s] = dcontext_t · v_s and dv_s += A[t][s] dcontext_t.
                    var weightedSum: Float = 0
                    for s in 0..<phaseCount {
                        let valueOffset = (s * n + l) * 3 * channels + 2 * channels + head * headChannels
                        scores[s] = dot(contextGradientRow, projections + valueOffset, count: headChannels)
                        weightedSum += scores[s] * weightRow[s]
                        let valueGradient = projectionsGradient + valueOffset
                        for i in 0..<headChannels {
                            valueGradient[i] += weightRow[s] * contextGradientRow[i]
                        }
                    }

                    // Pass 2: through the softmax to the scores, then to q_t and k_s.
                    let queryOffset = (t * n + l) * 3 * channels + head * headChannels
                    for s in 0..<phaseCount {
                        let scoreGradient = weightRow[s] * (scores[s] - weightedSum) * scale
                        let keyOffset = (s * n + l) * 3 * channels + channels + head * headChannels
                        for i in 0..<headChannels {
                            projectionsGradient[queryOffset + i] += scoreGradient * projections[keyOffset + i]
                            projectionsGradient[keyOffset + i] += scoreGradient * projections[queryOffset + i]
                        }
                    }
                }
            }
        }
    }

    // MARK: - Row helpers

    private func fillRows(_ matrix: UnsafeMutablePointer<Float>, rows: Int, with row: UnsafePointer<Float>, width: Int) {
        for r in 0..<rows {
            (matrix + r * width).update(from: row, count: width)
        }
    }

    /// Sets destination = source + row, broadcasting `row` over the rows. Row pointers keep the
    /// inner loop free of index arithmetic, so it vectorises.
    private func addRows(
        _ destination: UnsafeMutablePointer<Float>, _ source: UnsafePointer<Float>,
        plus row: UnsafePointer<Float>, rows: Int, width: Int
    ) {
        for r in 0..<rows {
            let sourceRow = source + r * width
            let destinationRow = destination + r * width
            for c in 0..<width {
                destinationRow[c] = sourceRow[c] + row[c]
            }
        }
    }

    private func addInPlace(_ destination: UnsafeMutablePointer<Float>, _ source: UnsafePointer<Float>, count: Int) {
        for i in 0..<count {
            destination[i] += source[i]
        }
    }

    private func addColumnSums(_ matrix: UnsafePointer<Float>, rows: Int, width: Int, into sums: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let row = matrix + r * width
            for c in 0..<width {
                sums[c] += row[c]
            }
        }
    }
}
