// One worker's scratch memory and the steps of the fused temporal kernels over one block of
// locations: the forward pass (which keeps every activation of the block) and the backward pass
// (which consumes them). Row r = p · S + l of every row matrix belongs to present phase p at
// location l, where S is the block size. The block's last rows per phase are zero when the
// volume's last block has fewer than S locations. The attention's matrices are transposed
// (column r), so that its loops read 16 locations at a time; the attention itself is in the
// VectorKernels module.
import VectorKernels

struct BlockKernel {
    let weights: PackedParameters
    let layout: BlockLayout
    private let storage: UnsafeMutableBufferPointer<Float>
    /// LayerNorm₁ and LayerNorm₂ on oneDNN. When training they write each row's variance to
    /// the rstd buffer, which `forward` then turns into 1 / sqrt(variance + ε).
    private let attentionNorm, mlpNorm: DNNLBoundPrimitive
    /// GELU from `hiddenPreActivation` into `hidden`, and its derivative applied to
    /// `hiddenGradient` (only when training).
    private let gelu: DNNLBoundPrimitive
    private let geluDerivative: DNNLBoundPrimitive?
    private let training: Bool

    // Forward activations.
    /// h = x + e.
    let tokens: UnsafeMutablePointer<Float>
    /// LayerNorm₁(h), its row means and reciprocal standard deviations.
    let attentionNormOutput, attentionNormMean, attentionNormRstd: UnsafeMutablePointer<Float>
    /// Queries, keys and values, transposed: 3C rows of P · S columns.
    let projections: UnsafeMutablePointer<Float>
    /// Softmax weights, index ((head · P + t) · P + s) · S + l.
    let attentionWeights: UnsafeMutablePointer<Float>
    /// Weighted values, heads concatenated, transposed: C rows of P · S columns.
    let context: UnsafeMutablePointer<Float>
    /// u = h + attention output.
    let residual: UnsafeMutablePointer<Float>
    /// LayerNorm₂(u), its row means and reciprocal standard deviations.
    let mlpNormOutput, mlpNormMean, mlpNormRstd: UnsafeMutablePointer<Float>
    /// The MLP's hidden rows before and after GELU.
    let hiddenPreActivation, hidden: UnsafeMutablePointer<Float>
    /// b₁ in every hidden row, copied into `hiddenPreActivation` in one pass per block rather
    /// than one short copy per row.
    let hiddenBiasRows: UnsafeMutablePointer<Float>
    /// z = u + MLP output.
    let encoded: UnsafeMutablePointer<Float>
    /// Pooling weights, index p · S + l.
    let poolingWeights: UnsafeMutablePointer<Float>
    /// dL/d(pooling weight) of one location's P phases.
    let poolingWeightGradients: UnsafeMutablePointer<Float>

    // Backward gradients; they alias nothing and exist only when training. The context and
    // projection gradients are transposed like the context and projections.
    let encodedGradient, residualGradient, normGradient, contextGradient, tokensGradient: UnsafeMutablePointer<Float>
    let hiddenGradient, projectionsGradient: UnsafeMutablePointer<Float>

    init(weights: PackedParameters, layout: BlockLayout, training: Bool) {
        precondition(layout.blockLocations % 16 == 0, "the attention reads 16 locations at a time, so blocks must be multiples of 16")
        self.weights = weights
        self.layout = layout
        let phaseCount = layout.present.count
        let rows = phaseCount * layout.blockLocations
        let (c, hiddenWidth) = (layout.channels, layout.hiddenChannels)
        var sizes = [
            rows * c, rows * c, rows, rows, rows * 3 * c,
            layout.blockLocations * layout.heads * phaseCount * phaseCount,
            rows * c, rows * c, rows * c, rows, rows, rows * hiddenWidth, rows * hiddenWidth, rows * c,
            layout.blockLocations * phaseCount, phaseCount, rows * hiddenWidth,
        ]
        let gradientSizes = [rows * c, rows * c, rows * c, rows * c, rows * c, rows * hiddenWidth, rows * 3 * c]
        sizes += training ? gradientSizes : gradientSizes.map { _ in 0 }
        // Zeroed once, so that no matrix product reads uninitialised memory, even as a C that
        // β = 0 leaves unused.
        storage = .allocate(capacity: sizes.reduce(0, +))
        storage.initialize(repeating: 0)
        var pointers: [UnsafeMutablePointer<Float>] = []
        var offset = 0
        for size in sizes {
            pointers.append(storage.baseAddress! + offset)
            offset += size
        }
        (tokens, attentionNormOutput, attentionNormMean, attentionNormRstd, projections) = (pointers[0], pointers[1], pointers[2], pointers[3], pointers[4])
        (attentionWeights, context, residual) = (pointers[5], pointers[6], pointers[7])
        (mlpNormOutput, mlpNormMean, mlpNormRstd) = (pointers[8], pointers[9], pointers[10])
        (hiddenPreActivation, hidden, encoded, poolingWeights, poolingWeightGradients) = (pointers[11], pointers[12], pointers[13], pointers[14], pointers[15])
        hiddenBiasRows = pointers[16]
        (encodedGradient, residualGradient, normGradient, contextGradient, tokensGradient) = (pointers[17], pointers[18], pointers[19], pointers[20], pointers[21])
        (hiddenGradient, projectionsGradient) = (pointers[22], pointers[23])
        for r in 0..<rows {
            (hiddenBiasRows + r * hiddenWidth).update(from: weights[.mlpInputBias], count: hiddenWidth)
        }
        self.training = training
        attentionNorm = LayerNorm.bindRows(
            tokens, into: attentionNormOutput, rows: rows, width: c,
            scale: weights[.attentionNormScale], shift: weights[.attentionNormShift], epsilon: LayerNorm.defaultEpsilon,
            mean: training ? attentionNormMean : nil, variance: training ? attentionNormRstd : nil)
        mlpNorm = LayerNorm.bindRows(
            residual, into: mlpNormOutput, rows: rows, width: c,
            scale: weights[.mlpNormScale], shift: weights[.mlpNormShift], epsilon: LayerNorm.defaultEpsilon,
            mean: training ? mlpNormMean : nil, variance: training ? mlpNormRstd : nil)
        gelu = GELU.bind(hiddenPreActivation, into: hidden, count: rows * hiddenWidth)
        geluDerivative = training ? GELU.bindDerivative(gradients: hiddenGradient, inputs: hiddenPreActivation, count: rows * hiddenWidth) : nil
    }

    func deallocate() {
        storage.deallocate()
    }

    // MARK: - Forward

    /// Computes the encoded tokens z of locations start..<start + n, keeping every activation.
    func forward(phases: UnsafePointer<Float>, start: Int, count n: Int) {
        let channels = layout.channels
        let hiddenChannels = layout.hiddenChannels
        let blockSize = layout.blockLocations
        let rows = layout.present.count * blockSize

        // Step 1: gather the tokens and add each phase slot's embedding. Zero rows pad the block.
        for (p, slot) in layout.present.enumerated() {
            addRows(tokens + p * blockSize * channels, phases + (slot * layout.locations + start) * channels,
                    plus: weights[.phaseEmbedding] + slot * channels, rows: n, width: channels)
            (tokens + (p * blockSize + n) * channels).update(repeating: 0, count: (blockSize - n) * channels)
        }

        // Step 2: u = h + W_o · Attention(LayerNorm₁(h)) + b_o, with the projections and the
        // context transposed.
        attentionNorm.run()
        if training {
            replaceVariancesByReciprocalStandardDeviations(attentionNormRstd, count: rows)
        }
        let inputBias = weights[.inputProjectionBias]
        for feature in 0..<3 * channels {
            (projections + feature * rows).update(repeating: inputBias[feature], count: rows)
        }
        sgemm(
            transposeA: false, transposeB: true, m: 3 * channels, n: rows, k: channels,
            a: weights[.inputProjectionWeight], lda: channels, b: attentionNormOutput, ldb: channels,
            beta: 1, c: projections, ldc: rows)
        attend()
        addRows(residual, tokens, plus: weights[.outputProjectionBias], rows: rows, width: channels)
        sgemm(
            transposeA: true, transposeB: true, m: rows, n: channels, k: channels,
            a: context, lda: rows, b: weights[.outputProjectionWeight], ldb: channels,
            beta: 1, c: residual, ldc: channels)

        // Step 3: z = u + W₂ GELU(W₁ LayerNorm₂(u) + b₁) + b₂.
        mlpNorm.run()
        if training {
            replaceVariancesByReciprocalStandardDeviations(mlpNormRstd, count: rows)
        }
        hiddenPreActivation.update(from: hiddenBiasRows, count: rows * hiddenChannels)
        sgemm(
            transposeA: false, transposeB: true, m: rows, n: hiddenChannels, k: channels,
            a: mlpNormOutput, lda: channels, b: weights[.mlpInputWeight], ldb: channels,
            beta: 1, c: hiddenPreActivation, ldc: hiddenChannels)
        gelu.run()
        addRows(encoded, residual, plus: weights[.mlpOutputBias], rows: rows, width: channels)
        sgemm(
            transposeA: false, transposeB: true, m: rows, n: channels, k: hiddenChannels,
            a: hidden, lda: hiddenChannels, b: weights[.mlpOutputWeight], ldb: hiddenChannels,
            beta: 1, c: encoded, ldc: channels)
    }

    /// Computes the attention weights and the context of every token with the attention build
    /// this CPU runs.
    private func attend() {
        VectorKernelBuild.selected.attendBlock(
            projections, attentionWeights, context,
            layout.heads, layout.channels, layout.present.count, layout.blockLocations)
    }

    /// Computes the pooling weights of locations start..<start + n and, unless `output` is nil,
    /// pools the encoded tokens into it, C values per location of the whole volume.
    func pool(start: Int, count n: Int, into output: UnsafeMutablePointer<Float>?) {
        let channels = layout.channels
        let phaseCount = layout.present.count
        let blockSize = layout.blockLocations

        // Scores z · q / √C of every row, padding rows included, then their softmax over the
        // phases of 16 locations at a time.
        sgemm(
            transposeA: false, transposeB: false, m: phaseCount * blockSize, n: 1, k: channels,
            alpha: 1 / Float(channels).squareRoot(), a: encoded, lda: channels, b: weights[.poolingQuery], ldb: 1,
            beta: 0, c: poolingWeights, ldc: 1)
        for l in stride(from: 0, to: blockSize, by: 16) {
            var maximum = load16(poolingWeights + l)
            for p in 1..<phaseCount {
                let score = load16(poolingWeights + p * blockSize + l)
                maximum = maximum.replacing(with: score, where: score .> maximum)
            }
            var total = SIMD16<Float>.zero
            for p in 0..<phaseCount {
                let exponential = fastExp(load16(poolingWeights + p * blockSize + l) - maximum)
                store16(exponential, poolingWeights + p * blockSize + l)
                total += exponential
            }
            let reciprocal = 1 / total
            for p in 0..<phaseCount {
                store16(load16(poolingWeights + p * blockSize + l) * reciprocal, poolingWeights + p * blockSize + l)
            }
        }

        guard let output else { return }
        if channels % 16 == 0 {
            for l in 0..<n {
                for group in stride(from: 0, to: channels, by: 16) {
                    var fused = SIMD16<Float>()
                    for p in 0..<phaseCount {
                        fused += poolingWeights[p * blockSize + l] * load16(encoded + (p * blockSize + l) * channels + group)
                    }
                    store16(fused, output + (start + l) * channels + group)
                }
            }
            return
        }
        for l in 0..<n {
            let fused = output + (start + l) * channels
            for c in 0..<channels {
                fused[c] = 0
            }
            for p in 0..<phaseCount {
                let weight = poolingWeights[p * blockSize + l]
                let token = encoded + (p * blockSize + l) * channels
                for c in 0..<channels {
                    fused[c] += weight * token[c]
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
        let blockSize = layout.blockLocations
        let rows = layout.present.count * blockSize

        // Step 1: through the pooling to dL/dz. The padding rows get zero gradients, so they add
        // nothing to the parameter gradients.
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
        geluDerivative!.run()
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

        // Step 3: through the attention, whose matrices are transposed. dL/dh gets dL/du directly
        // and through LayerNorm₁.
        sgemm(
            transposeA: true, transposeB: true, m: channels, n: channels, k: rows,
            a: residualGradient, lda: channels, b: context, ldb: rows,
            beta: 1, c: gradients[.outputProjectionWeight], ldc: channels)
        addColumnSums(residualGradient, rows: rows, width: channels, into: gradients[.outputProjectionBias])
        sgemm(
            transposeA: true, transposeB: true, m: channels, n: rows, k: channels,
            a: weights[.outputProjectionWeight], lda: channels, b: residualGradient, ldb: channels,
            beta: 0, c: contextGradient, ldc: rows)
        attendBackward()
        sgemm(
            transposeA: false, transposeB: false, m: 3 * channels, n: channels, k: rows,
            a: projectionsGradient, lda: rows, b: attentionNormOutput, ldb: channels,
            beta: 1, c: gradients[.inputProjectionWeight], ldc: channels)
        let inputBiasGradient = gradients[.inputProjectionBias]
        for feature in 0..<3 * channels {
            inputBiasGradient[feature] += sum(projectionsGradient + feature * rows, count: rows)
        }
        sgemm(
            transposeA: true, transposeB: false, m: rows, n: channels, k: 3 * channels,
            a: projectionsGradient, lda: rows, b: weights[.inputProjectionWeight], ldb: channels,
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
                let gradientRow = tokensGradient + (p * blockSize + l) * channels
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
        let blockSize = layout.blockLocations
        let scale = 1 / Float(channels).squareRoot()
        let query = weights[.poolingQuery]
        let queryGradient = gradients[.poolingQuery]
        for l in 0..<n {
            let gradientRow = outputGradient + l * channels
            func weight(_ p: Int) -> Float { poolingWeights[p * blockSize + l] }

            // Pass 1: da_p = dy · z_p, and the direct path dz_p = a_p dy.
            var weightedSum: Float = 0
            for p in 0..<phaseCount {
                let token = encoded + (p * blockSize + l) * channels
                let tokenGradient = encodedGradient + (p * blockSize + l) * channels
                poolingWeightGradients[p] = dot(gradientRow, token, count: channels)
                weightedSum += poolingWeightGradients[p] * weight(p)
                for c in 0..<channels {
                    tokenGradient[c] = weight(p) * gradientRow[c]
                }
            }

            // Pass 2: through the softmax to the scores, then to z_p and q.
            for p in 0..<phaseCount {
                let scoreGradient = weight(p) * (poolingWeightGradients[p] - weightedSum) * scale
                let token = encoded + (p * blockSize + l) * channels
                let tokenGradient = encodedGradient + (p * blockSize + l) * channels
                for c in 0..<channels {
                    tokenGradient[c] += scoreGradient * query[c]
                    queryGradient[c] += scoreGradient * token[c]
                }
            }
        }
        for p in 0..<phaseCount {
            (encodedGradient + (p * blockSize + n) * channels).update(repeating: 0, count: (blockSize - n) * channels)
        }
    }

    /// Writes dL/d(q, k, v) into `projectionsGradient` from dL/dcontext.
    private func attendBackward() {
        VectorKernelBuild.selected.attendBlockBackward(
            projections, attentionWeights, contextGradient, projectionsGradient,
            layout.heads, layout.channels, layout.present.count, layout.blockLocations)
    }

    // MARK: - Row helpers

    private func replaceVariancesByReciprocalStandardDeviations(_ values: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            values[i] = 1 / (values[i] + LayerNorm.defaultEpsilon).squareRoot()
        }
    }

    /// Sets destination = source + row, broadcasting `row` over the rows: 16 values per vector
    /// when the width allows, else with row pointers that keep the inner loop free of index
    /// arithmetic, so it vectorises.
    private func addRows(
        _ destination: UnsafeMutablePointer<Float>, _ source: UnsafePointer<Float>,
        plus row: UnsafePointer<Float>, rows: Int, width: Int
    ) {
        if width % 16 == 0 {
            for r in 0..<rows {
                for group in stride(from: 0, to: width, by: 16) {
                    store16(load16(source + r * width + group) + load16(row + group), destination + r * width + group)
                }
            }
            return
        }
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
