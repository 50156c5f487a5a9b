import Foundation

/// Multi-head self-attention over short token sequences with a key-padding mask, laid out like
/// PyTorch's `nn.MultiheadAttention(batch_first: true)`.
///
/// Shapes: input and output (B, T, C); mask (B, T), `true` for a present token; C = heads · Dh.
/// Masked tokens are never attended to. Their own outputs are computed but meaningless, and a
/// sequence with no present token gets zero attention weights, so its outputs equal the output
/// projection's bias.
///
/// This is the generic version, built from `Linear` and per-sequence loops; `TemporalEncoder`
/// has a fused kernel for the temporal module.
///
/// NOTE: the per-sequence loops run on one thread, so this version suits thousands of
/// sequences, not the million locations of a full-resolution temporal module.
public enum MultiHeadAttention {
    /// The learned parameters, named as in PyTorch.
    public struct Parameters: Sendable {
        /// The number of heads; C must be a multiple of it.
        public var heads: Int
        /// Query, key and value projections stacked, shape (3C, C).
        public var inputProjectionWeight: Tensor
        /// Shape (3C).
        public var inputProjectionBias: Tensor
        /// Shape (C, C).
        public var outputProjectionWeight: Tensor
        /// Shape (C).
        public var outputProjectionBias: Tensor

        /// Creates parameters from tensors of the shapes above; stops on a mismatch.
        public init(heads: Int, inputProjectionWeight: Tensor, inputProjectionBias: Tensor, outputProjectionWeight: Tensor, outputProjectionBias: Tensor) {
            let channels = outputProjectionWeight.shape[0]
            precondition(channels % heads == 0, "\(channels) channels do not split into \(heads) heads")
            precondition(inputProjectionWeight.shape == [3 * channels, channels], "input projection weight must be (\(3 * channels), \(channels))")
            precondition(inputProjectionBias.shape == [3 * channels], "input projection bias must be (\(3 * channels))")
            precondition(outputProjectionWeight.shape == [channels, channels] && outputProjectionBias.shape == [channels], "output projection must be (\(channels), \(channels)) and (\(channels))")
            self.heads = heads
            self.inputProjectionWeight = inputProjectionWeight
            self.inputProjectionBias = inputProjectionBias
            self.outputProjectionWeight = outputProjectionWeight
            self.outputProjectionBias = outputProjectionBias
        }

        /// Draws parameters with PyTorch's default scales: uniform ±1/sqrt(C) weights, zero biases.
        public static func random<G: RandomNumberGenerator>(channels: Int, heads: Int, using generator: inout G) -> Parameters {
            let bound = 1 / Float(channels).squareRoot()
            return Parameters(
                heads: heads,
                inputProjectionWeight: .randomUniform(shape: [3 * channels, channels], in: -bound...bound, using: &generator),
                inputProjectionBias: Tensor(shape: [3 * channels]),
                outputProjectionWeight: .randomUniform(shape: [channels, channels], in: -bound...bound, using: &generator),
                outputProjectionBias: Tensor(shape: [channels]))
        }
    }

    /// Intermediate values saved by `forward` for `backward`.
    public struct Activations: Sendable {
        /// Projected queries, keys and values, shape (B, T, 3C).
        public var projections: Tensor
        /// Softmax weights, shape (B, heads, T, T); rows of masked-out sequences are zero.
        public var weights: Tensor
        /// Weighted values with heads concatenated, shape (B, T, C).
        public var context: Tensor
    }

    /// Attends every token to the present tokens of its sequence.
    public static func forward(
        _ input: Tensor, mask: [Bool], parameters: Parameters
    ) -> (output: Tensor, activations: Activations) {
        let (batch, tokens, channels) = dimensions(input, mask: mask)
        let heads = parameters.heads
        let headChannels = channels / heads
        let scale = 1 / Float(headChannels).squareRoot()
        let projections = Linear.forward(input: input, weight: parameters.inputProjectionWeight, bias: parameters.inputProjectionBias)
        var weights = Tensor(shape: [batch, heads, tokens, tokens])
        var context = Tensor(shape: [batch, tokens, channels])

        projections.scalars.withUnsafeBufferPointer { qkv in
            weights.scalars.withUnsafeMutableBufferPointer { a in
                context.scalars.withUnsafeMutableBufferPointer { y in
                    for b in 0..<batch {
                        for h in 0..<heads {
                            for t in 0..<tokens {
                                let query = (b * tokens + t) * 3 * channels + h * headChannels
                                let row = ((b * heads + h) * tokens + t) * tokens

                                // Scores against present keys; a row with none stays zero.
                                var maximum = -Float.infinity
                                for s in 0..<tokens where mask[b * tokens + s] {
                                    let key = (b * tokens + s) * 3 * channels + channels + h * headChannels
                                    var dot: Float = 0
                                    for i in 0..<headChannels {
                                        dot += qkv[query + i] * qkv[key + i]
                                    }
                                    a[row + s] = dot * scale
                                    maximum = max(maximum, dot * scale)
                                }
                                guard maximum > -Float.infinity else { continue }
                                var sum: Float = 0
                                for s in 0..<tokens where mask[b * tokens + s] {
                                    a[row + s] = expf(a[row + s] - maximum)
                                    sum += a[row + s]
                                }

                                // Context: the weighted sum of present values.
                                let out = (b * tokens + t) * channels + h * headChannels
                                for s in 0..<tokens where mask[b * tokens + s] {
                                    a[row + s] /= sum
                                    let value = (b * tokens + s) * 3 * channels + 2 * channels + h * headChannels
                                    for i in 0..<headChannels {
                                        y[out + i] += a[row + s] * qkv[value + i]
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }

        let output = Linear.forward(input: context, weight: parameters.outputProjectionWeight, bias: parameters.outputProjectionBias)
        return (output, Activations(projections: projections, weights: weights, context: context))
    }

    /// Computes dL/dinput and the parameter gradients from dL/doutput.
    public static func backward(
        outputGradient: Tensor, input: Tensor, mask: [Bool], parameters: Parameters, activations: Activations
    ) -> (input: Tensor, parameters: Parameters) {
        let (batch, tokens, channels) = dimensions(input, mask: mask)
        let heads = parameters.heads
        let headChannels = channels / heads
        let scale = 1 / Float(headChannels).squareRoot()
        let output = Linear.backward(outputGradient: outputGradient, input: activations.context, weight: parameters.outputProjectionWeight)
        var projectionsGradient = Tensor(shape: activations.projections.shape)

        activations.projections.scalars.withUnsafeBufferPointer { qkv in
            activations.weights.scalars.withUnsafeBufferPointer { a in
                output.input.scalars.withUnsafeBufferPointer { dContext in
                    projectionsGradient.scalars.withUnsafeMutableBufferPointer { dqkv in
                        var weightGradient = [Float](repeating: 0, count: tokens)
                        for b in 0..<batch {
                            for h in 0..<heads {
                                for t in 0..<tokens {
                                    let row = ((b * heads + h) * tokens + t) * tokens
                                    let out = (b * tokens + t) * channels + h * headChannels

                                    // Pass 1: dA[t][s] = dcontext_t · v_s and dv_s += A[t][s] dcontext_t.
                                    var weightedSum: Float = 0
                                    for s in 0..<tokens where mask[b * tokens + s] {
                                        let value = (b * tokens + s) * 3 * channels + 2 * channels + h * headChannels
                                        var dot: Float = 0
                                        for i in 0..<headChannels {
                                            dot += dContext[out + i] * qkv[value + i]
                                            dqkv[value + i] += a[row + s] * dContext[out + i]
                                        }
                                        weightGradient[s] = dot
                                        weightedSum += dot * a[row + s]
                                    }

                                    // Pass 2: through the softmax to the scores, then to q_t and k_s.
                                    let query = (b * tokens + t) * 3 * channels + h * headChannels
                                    for s in 0..<tokens where mask[b * tokens + s] {
                                        let scoreGradient = a[row + s] * (weightGradient[s] - weightedSum) * scale
                                        let key = (b * tokens + s) * 3 * channels + channels + h * headChannels
                                        for i in 0..<headChannels {
                                            dqkv[query + i] += scoreGradient * qkv[key + i]
                                            dqkv[key + i] += scoreGradient * qkv[query + i]
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }

        let projection = Linear.backward(outputGradient: projectionsGradient, input: input, weight: parameters.inputProjectionWeight)
        let gradients = Parameters(
            heads: heads,
            inputProjectionWeight: projection.weight, inputProjectionBias: projection.bias,
            outputProjectionWeight: output.weight, outputProjectionBias: output.bias)
        return (projection.input, gradients)
    }

    private static func dimensions(_ input: Tensor, mask: [Bool]) -> (Int, Int, Int) {
        precondition(input.rank == 3, "attention input must be (B, T, C), got \(input.shape)")
        precondition(mask.count == input.shape[0] * input.shape[1], "mask needs \(input.shape[0] * input.shape[1]) entries, got \(mask.count)")
        return (input.shape[0], input.shape[1], input.shape[2])
    }
}
