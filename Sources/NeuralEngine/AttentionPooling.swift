import Foundation

/// Attention pooling of a token sequence into one vector with a learned query q:
/// a = softmax over present tokens of (z_t · q) / sqrt(C), output = Σ_t a_t z_t.
///
/// Shapes: input (B, T, C); mask (B, T), `true` for a present token; query (C); output (B, C).
/// A sequence with no present token pools to zeros.
public enum AttentionPooling {
    /// Pools every sequence; also returns the weights a, shape (B, T), for `backward`.
    public static func forward(_ input: Tensor, mask: [Bool], query: Tensor) -> (output: Tensor, weights: Tensor) {
        let (batch, tokens, channels) = dimensions(input, mask: mask, query: query)
        let scale = 1 / Float(channels).squareRoot()
        var output = Tensor(shape: [batch, channels])
        var weights = Tensor(shape: [batch, tokens])
        input.scalars.withUnsafeBufferPointer { z in
            output.scalars.withUnsafeMutableBufferPointer { y in
                weights.scalars.withUnsafeMutableBufferPointer { a in
                    for b in 0..<batch {
                        var maximum = -Float.infinity
                        for t in 0..<tokens where mask[b * tokens + t] {
                            var dot: Float = 0
                            for c in 0..<channels {
                                dot += z[(b * tokens + t) * channels + c] * query.scalars[c]
                            }
                            a[b * tokens + t] = dot * scale
                            maximum = max(maximum, dot * scale)
                        }
                        guard maximum > -Float.infinity else { continue }
                        var sum: Float = 0
                        for t in 0..<tokens where mask[b * tokens + t] {
                            a[b * tokens + t] = expf(a[b * tokens + t] - maximum)
                            sum += a[b * tokens + t]
                        }
                        for t in 0..<tokens where mask[b * tokens + t] {
                            a[b * tokens + t] /= sum
                            for c in 0..<channels {
                                y[b * channels + c] += a[b * tokens + t] * z[(b * tokens + t) * channels + c]
                            }
                        }
                    }
                }
            }
        }
        return (output, weights)
    }

    /// Computes dL/dinput and dL/dquery from dL/doutput, shape (B, C).
    public static func backward(
        outputGradient: Tensor, input: Tensor, mask: [Bool], query: Tensor, weights: Tensor
    ) -> (input: Tensor, query: Tensor) {
        let (batch, tokens, channels) = dimensions(input, mask: mask, query: query)
        let scale = 1 / Float(channels).squareRoot()
        var inputGradient = Tensor(shape: input.shape)
        var queryGradient = Tensor(shape: query.shape)
        var weightGradient = [Float](repeating: 0, count: tokens)
        input.scalars.withUnsafeBufferPointer { z in
            outputGradient.scalars.withUnsafeBufferPointer { dy in
                inputGradient.scalars.withUnsafeMutableBufferPointer { dz in
                    weights.scalars.withUnsafeBufferPointer { a in
                        for b in 0..<batch {
                            // Pass 1: da_t = dy · z_t, and the direct path dz_t = a_t dy.
                            var weightedSum: Float = 0
                            for t in 0..<tokens where mask[b * tokens + t] {
                                var dot: Float = 0
                                for c in 0..<channels {
                                    dot += dy[b * channels + c] * z[(b * tokens + t) * channels + c]
                                    dz[(b * tokens + t) * channels + c] = a[b * tokens + t] * dy[b * channels + c]
                                }
                                weightGradient[t] = dot
                                weightedSum += dot * a[b * tokens + t]
                            }

                            // Pass 2: through the softmax to the scores, then to z_t and q.
                            for t in 0..<tokens where mask[b * tokens + t] {
                                let scoreGradient = a[b * tokens + t] * (weightGradient[t] - weightedSum) * scale
                                for c in 0..<channels {
                                    dz[(b * tokens + t) * channels + c] += scoreGradient * query.scalars[c]
                                    queryGradient.scalars[c] += scoreGradient * z[(b * tokens + t) * channels + c]
                                }
                            }
                        }
                    }
                }
            }
        }
        return (inputGradient, queryGradient)
    }

    private static func dimensions(_ input: Tensor, mask: [Bool], query: Tensor) -> (Int, Int, Int) {
        precondition(input.rank == 3, "attention pooling input must be (B, T, C), got \(input.shape)")
        precondition(mask.count == input.shape[0] * input.shape[1], "mask needs \(input.shape[0] * input.shape[1]) entries, got \(mask.count)")
        precondition(query.shape == [input.shape[2]], "pooling query must be (\(input.shape[2])), got \(query.shape)")
        return (input.shape[0], input.shape[1], input.shape[2])
    }
}
