// The temporal module's forward pass, for CPUs with AVX-512 only. It works on 16 locations at a
// time, with one feature of those locations in each 16-lane vector. Each step (layer norm,
// projection, attention, GELU, pooling) is then lane-wise arithmetic, and the projections are
// fused multiply-adds of a vector and a broadcast weight. The intermediates of the 16 locations
// take 38 KiB at 16 channels, so they stay in the first-level cache (at 128 channels, 276 KiB in
// the second level). The block kernel instead writes a block's intermediates to buffers and
// hands its projections to oneDNN's sgemm. Training's backward pass still recomputes the forward
// pass with that kernel, because it needs the saved activations. The baseline build has no fused
// multiply-add, so this file is compiled for AVX-512 only.
//
// Scratch layout: the vector of feature f of present phase p is at index f · P + p, which is the
// block layout of `attendBlock` with a block of 16 locations.

/// The module's parameters. The kernel reads the vectors (biases, norms, embeddings, query) where
/// the caller keeps them, in PyTorch's layouts. It keeps its own transposed copies of the four
/// weight matrices, (inputs x outputs) row-major, so that the weights of neighbouring outputs
/// are neighbours in memory.
public final class FusedTemporalParameters: @unchecked Sendable {
    let phaseEmbedding, attentionNormScale, attentionNormShift: UnsafePointer<Float>
    let inputProjectionBias, outputProjectionBias: UnsafePointer<Float>
    let mlpNormScale, mlpNormShift, mlpInputBias, mlpOutputBias, poolingQuery: UnsafePointer<Float>
    let inputProjectionByInput, outputProjectionByInput, mlpInputByInput, mlpOutputByInput: UnsafeMutablePointer<Float>
    let channels, hiddenChannels, heads: Int
    let normEpsilon: Float

    /// Takes the module's tensors, which must outlive it, in PyTorch's layouts.
    public init(
        phaseEmbedding: UnsafePointer<Float>, attentionNormScale: UnsafePointer<Float>, attentionNormShift: UnsafePointer<Float>,
        inputProjectionWeight: UnsafePointer<Float>, inputProjectionBias: UnsafePointer<Float>,
        outputProjectionWeight: UnsafePointer<Float>, outputProjectionBias: UnsafePointer<Float>,
        mlpNormScale: UnsafePointer<Float>, mlpNormShift: UnsafePointer<Float>,
        mlpInputWeight: UnsafePointer<Float>, mlpInputBias: UnsafePointer<Float>,
        mlpOutputWeight: UnsafePointer<Float>, mlpOutputBias: UnsafePointer<Float>,
        poolingQuery: UnsafePointer<Float>, channels: Int, hiddenChannels: Int, heads: Int, normEpsilon: Float
    ) {
        (self.phaseEmbedding, self.attentionNormScale, self.attentionNormShift) = (phaseEmbedding, attentionNormScale, attentionNormShift)
        (self.inputProjectionBias, self.outputProjectionBias) = (inputProjectionBias, outputProjectionBias)
        (self.mlpNormScale, self.mlpNormShift, self.mlpInputBias, self.mlpOutputBias) = (mlpNormScale, mlpNormShift, mlpInputBias, mlpOutputBias)
        self.poolingQuery = poolingQuery
        (self.channels, self.hiddenChannels, self.heads, self.normEpsilon) = (channels, hiddenChannels, heads, normEpsilon)
        inputProjectionByInput = transposed(inputProjectionWeight, rows: 3 * channels, columns: channels)
        outputProjectionByInput = transposed(outputProjectionWeight, rows: channels, columns: channels)
        mlpInputByInput = transposed(mlpInputWeight, rows: hiddenChannels, columns: channels)
        mlpOutputByInput = transposed(mlpOutputWeight, rows: channels, columns: hiddenChannels)
    }

    deinit {
        for matrix in [inputProjectionByInput, outputProjectionByInput, mlpInputByInput, mlpOutputByInput] {
            matrix.deallocate()
        }
    }

    /// Returns whether the fused kernel takes this shape: channels and hidden channels in
    /// multiples of the eight outputs `project` computes together, heads that split the channels
    /// evenly, and one to four present phases.
    public static func supports(channels: Int, hiddenChannels: Int, heads: Int, presentPhases: Int) -> Bool {
        channels % 8 == 0 && hiddenChannels % 8 == 0 && heads > 0 && channels % heads == 0 && (1...4).contains(presentPhases)
    }
}

/// Returns a new (columns x rows) copy of a (rows x columns) row-major matrix.
private func transposed(_ matrix: UnsafePointer<Float>, rows: Int, columns: Int) -> UnsafeMutablePointer<Float> {
    let copy = UnsafeMutablePointer<Float>.allocate(capacity: rows * columns)
    for r in 0..<rows {
        for c in 0..<columns {
            copy[c * rows + r] = matrix[r * columns + c]
        }
    }
    return copy
}

/// Runs the temporal module at locations `range` of one study.
///
/// - parameters:
///   - phases: the encoder features of every phase slot, (slots, locations, C) row-major.
///   - presentSlots: the slots the study has, at most four.
///   - output: the fused features, (locations, C) row-major; only `range` is written.
public func fusedTemporalForward(
    phases: UnsafePointer<Float>, presentSlots: [Int], locations: Int, range: Range<Int>,
    parameters: FusedTemporalParameters, output: UnsafeMutablePointer<Float>
) {
    let phaseCount = presentSlots.count
    let (channels, hiddenChannels) = (parameters.channels, parameters.hiddenChannels)
    precondition(FusedTemporalParameters.supports(channels: channels, hiddenChannels: hiddenChannels, heads: parameters.heads, presentPhases: phaseCount),
                 "the fused temporal kernel does not take \(channels) channels, \(hiddenChannels) hidden channels, \(parameters.heads) heads and \(phaseCount) phases")
    let tokenVectors = channels * phaseCount
    let scratch = UnsafeMutablePointer<SIMD16<Float>>.allocate(capacity: 8 * tokenVectors + hiddenChannels + parameters.heads * phaseCount * phaseCount)
    defer { scratch.deallocate() }
    let tokens = scratch
    let normalised = tokens + tokenVectors
    let projections = normalised + tokenVectors
    let context = projections + 3 * tokenVectors
    let residual = context + tokenVectors
    let encoded = residual + tokenVectors
    let hidden = encoded + tokenVectors
    let attentionWeights = hidden + hiddenChannels

    for groupStart in stride(from: range.lowerBound, to: range.upperBound, by: 16) {
        let count = min(16, range.upperBound - groupStart)
        gatherTokens(phases, presentSlots: presentSlots, locations: locations, start: groupStart, count: count,
                     channels: channels, embedding: parameters.phaseEmbedding, into: tokens)

        // u = h + W_o · Attention(LayerNorm₁(h)) + b_o.
        normalise(tokens, into: normalised, features: channels, phases: phaseCount,
                  scale: parameters.attentionNormScale, shift: parameters.attentionNormShift, epsilon: parameters.normEpsilon)
        for p in 0..<phaseCount {
            project(normalised + p, inputs: channels, weights: parameters.inputProjectionByInput, bias: parameters.inputProjectionBias,
                    into: projections + p, outputs: 3 * channels, stride: phaseCount)
        }
        projections.withMemoryRebound(to: Float.self, capacity: 3 * tokenVectors * 16) { projections in
            attentionWeights.withMemoryRebound(to: Float.self, capacity: parameters.heads * phaseCount * phaseCount * 16) { weights in
                context.withMemoryRebound(to: Float.self, capacity: tokenVectors * 16) { context in
                    attendBlock(projections: projections, weights: weights, context: context,
                                heads: parameters.heads, channels: channels, phaseCount: phaseCount, blockSize: 16)
                }
            }
        }
        for p in 0..<phaseCount {
            project(context + p, inputs: channels, weights: parameters.outputProjectionByInput, bias: parameters.outputProjectionBias,
                    adding: tokens + p, into: residual + p, outputs: channels, stride: phaseCount)
        }

        // z = u + W₂ GELU(W₁ LayerNorm₂(u) + b₁) + b₂, one phase at a time.
        normalise(residual, into: normalised, features: channels, phases: phaseCount,
                  scale: parameters.mlpNormScale, shift: parameters.mlpNormShift, epsilon: parameters.normEpsilon)
        for p in 0..<phaseCount {
            project(normalised + p, inputs: channels, weights: parameters.mlpInputByInput, bias: parameters.mlpInputBias,
                    into: hidden, outputs: hiddenChannels, stride: phaseCount, outputStride: 1)
            for j in 0..<hiddenChannels {
                let x = hidden[j]
                hidden[j] = 0.5 * x * (1 + fastErf(x * Float(0.5).squareRoot()))
            }
            project(hidden, inputs: hiddenChannels, weights: parameters.mlpOutputByInput, bias: parameters.mlpOutputBias,
                    adding: residual + p, into: encoded + p, outputs: channels, stride: 1, outputStride: phaseCount)
        }

        pool(encoded, phases: phaseCount, channels: channels, query: parameters.poolingQuery,
             into: output + groupStart * channels, count: count)
    }
}

/// Writes h = x + e of `count` locations from `start` on, transposed: vector f · P + p is
/// feature f of present phase p. Lanes beyond `count` get zeros.
@inline(__always)
private func gatherTokens(
    _ phases: UnsafePointer<Float>, presentSlots: [Int], locations: Int, start: Int, count: Int,
    channels: Int, embedding: UnsafePointer<Float>, into tokens: UnsafeMutablePointer<SIMD16<Float>>
) {
    let phaseCount = presentSlots.count
    let lanes = UnsafeMutableRawPointer(tokens).assumingMemoryBound(to: Float.self)
    for (p, slot) in presentSlots.enumerated() {
        let source = phases + (slot * locations + start) * channels
        let slotEmbedding = embedding + slot * channels
        for c in 0..<channels {
            let row = lanes + (c * phaseCount + p) * 16
            var column = source + c
            for l in 0..<count {
                row[l] = column.pointee + slotEmbedding[c]
                column += channels
            }
            for l in count..<16 {
                row[l] = 0
            }
        }
    }
}

/// Layer-normalises every phase's token over its features, lane by lane: the mean and the
/// biased variance of each location, then scale and shift per feature.
@inline(__always)
private func normalise(
    _ input: UnsafePointer<SIMD16<Float>>, into output: UnsafeMutablePointer<SIMD16<Float>>, features: Int, phases: Int,
    scale: UnsafePointer<Float>, shift: UnsafePointer<Float>, epsilon: Float
) {
    let reciprocalCount = 1 / Float(features)
    for p in 0..<phases {
        var total = SIMD16<Float>()
        for f in 0..<features {
            total += input[f * phases + p]
        }
        let mean = total * reciprocalCount
        var squares = SIMD16<Float>()
        for f in 0..<features {
            let centred = input[f * phases + p] - mean
            squares = squares.addingProduct(centred, centred)
        }
        let reciprocalDeviation = reciprocalSquareRoot(squares * reciprocalCount + epsilon)
        for f in 0..<features {
            let standardised = (input[f * phases + p] - mean) * reciprocalDeviation
            output[f * phases + p] = SIMD16(repeating: shift[f]).addingProduct(standardised, scale[f])
        }
    }
}

/// 1 / √x in every lane for positive normal x. `squareRoot()` on a SIMD16 calls sqrtf once per
/// lane, so this refines the classic bit-level estimate with three Newton steps instead. Each
/// step roughly squares the relative error: at most 1.8e-3 after the first step, 5e-6 after the
/// second and below Float's precision after the third.
@inline(__always)
private func reciprocalSquareRoot(_ x: SIMD16<Float>) -> SIMD16<Float> {
    var y = unsafeBitCast(0x5F37_59DF &- (unsafeBitCast(x, to: SIMD16<UInt32>.self) &>> 1), to: SIMD16<Float>.self)
    let half = 0.5 * x
    for _ in 0..<3 {
        y = y * (1.5 - half * y * y)
    }
    return y
}

/// Writes outputs[o] = bias[o] + addend[o] + Σ_i weights[i · outputs + o] · input[i] for every
/// output o. Input i is the vector at i · stride, and output o (like the addend) is at
/// o · outputStride. Eight outputs share each input load, and their eight weights are neighbours.
@inline(__always)
private func project(
    _ input: UnsafePointer<SIMD16<Float>>, inputs: Int, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>,
    adding addend: UnsafePointer<SIMD16<Float>>? = nil, into output: UnsafeMutablePointer<SIMD16<Float>>,
    outputs: Int, stride: Int, outputStride: Int? = nil
) {
    let outputStride = outputStride ?? stride
    for o in Swift.stride(from: 0, to: outputs, by: 8) {
        var sums = (
            SIMD16(repeating: bias[o]), SIMD16(repeating: bias[o + 1]), SIMD16(repeating: bias[o + 2]), SIMD16(repeating: bias[o + 3]),
            SIMD16(repeating: bias[o + 4]), SIMD16(repeating: bias[o + 5]), SIMD16(repeating: bias[o + 6]), SIMD16<Float>(repeating: bias[o + 7]))
        if let addend {
            let terms = addend + o * outputStride
            sums.0 += terms[0]
            sums.1 += terms[outputStride]
            sums.2 += terms[2 * outputStride]
            sums.3 += terms[3 * outputStride]
            sums.4 += terms[4 * outputStride]
            sums.5 += terms[5 * outputStride]
            sums.6 += terms[6 * outputStride]
            sums.7 += terms[7 * outputStride]
        }
        var weight = weights + o
        var x = input
        for _ in 0..<inputs {
            let value = x.pointee
            sums.0 = sums.0.addingProduct(value, weight[0])
            sums.1 = sums.1.addingProduct(value, weight[1])
            sums.2 = sums.2.addingProduct(value, weight[2])
            sums.3 = sums.3.addingProduct(value, weight[3])
            sums.4 = sums.4.addingProduct(value, weight[4])
            sums.5 = sums.5.addingProduct(value, weight[5])
            sums.6 = sums.6.addingProduct(value, weight[6])
            sums.7 = sums.7.addingProduct(value, weight[7])
            weight += outputs
            x += stride
        }
        let results = output + o * outputStride
        results[0] = sums.0
        results[outputStride] = sums.1
        results[2 * outputStride] = sums.2
        results[3 * outputStride] = sums.3
        results[4 * outputStride] = sums.4
        results[5 * outputStride] = sums.5
        results[6 * outputStride] = sums.6
        results[7 * outputStride] = sums.7
    }
}

/// Pools each location's phase tokens with softmax weights of z · q / √C and writes the first
/// `count` locations' fused vectors as rows of `channels` values.
@inline(__always)
private func pool(
    _ encoded: UnsafePointer<SIMD16<Float>>, phases: Int, channels: Int, query: UnsafePointer<Float>,
    into output: UnsafeMutablePointer<Float>, count: Int
) {
    let scale = 1 / Float(channels).squareRoot()
    var weights = PhaseVectors()
    for p in 0..<phases {
        var score = SIMD16<Float>()
        for c in 0..<channels {
            score = score.addingProduct(encoded[c * phases + p], query[c])
        }
        weights[p] = score * scale
    }
    var maximum = weights[0]
    for p in 1..<phases {
        maximum = maximum.replacing(with: weights[p], where: weights[p] .> maximum)
    }
    var total = SIMD16<Float>()
    for p in 0..<phases {
        weights[p] = fastExp(weights[p] - maximum)
        total += weights[p]
    }
    let reciprocal = 1 / total
    for p in 0..<phases {
        weights[p] *= reciprocal
    }
    for c in 0..<channels {
        var fused = SIMD16<Float>()
        for p in 0..<phases {
            fused = fused.addingProduct(weights[p], encoded[c * phases + p])
        }
        withUnsafeBytes(of: fused) { lanes in
            var destination = output + c
            for l in 0..<count {
                destination.pointee = lanes.load(fromByteOffset: l * 4, as: Float.self)
                destination += channels
            }
        }
    }
}
