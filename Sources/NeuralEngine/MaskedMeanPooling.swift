/// The mean of the present tokens of each sequence. Shapes: input (B, T, C), key-padding mask
/// (B, T) with `true` for a present token, output (B, C). A sequence with no present token
/// pools to zeros.
public enum MaskedMeanPooling {
    /// Averages the present tokens.
    public static func forward(_ input: Tensor, mask: [Bool]) -> Tensor {
        let (batch, tokens, channels) = dimensions(input, mask: mask)
        var output = Tensor(shape: [batch, channels])
        input.scalars.withUnsafeBufferPointer { x in
            output.scalars.withUnsafeMutableBufferPointer { y in
                for b in 0..<batch {
                    let present = (0..<tokens).filter { mask[b * tokens + $0] }
                    guard !present.isEmpty else { continue }
                    let weight = 1 / Float(present.count)
                    for t in present {
                        for c in 0..<channels {
                            y[b * channels + c] += weight * x[(b * tokens + t) * channels + c]
                        }
                    }
                }
            }
        }
        return output
    }

    /// Spreads dL/dy, shape (B, C), evenly over the present tokens; masked tokens get zero.
    public static func backward(outputGradient: Tensor, mask: [Bool], tokens: Int) -> Tensor {
        let batch = outputGradient.shape[0]
        let channels = outputGradient.shape[1]
        precondition(mask.count == batch * tokens, "mask needs \(batch * tokens) entries, got \(mask.count)")
        var inputGradient = Tensor(shape: [batch, tokens, channels])
        outputGradient.scalars.withUnsafeBufferPointer { dy in
            inputGradient.scalars.withUnsafeMutableBufferPointer { dx in
                for b in 0..<batch {
                    let present = (0..<tokens).filter { mask[b * tokens + $0] }
                    guard !present.isEmpty else { continue }
                    let weight = 1 / Float(present.count)
                    for t in present {
                        for c in 0..<channels {
                            dx[(b * tokens + t) * channels + c] = weight * dy[b * channels + c]
                        }
                    }
                }
            }
        }
        return inputGradient
    }

    private static func dimensions(_ input: Tensor, mask: [Bool]) -> (Int, Int, Int) {
        precondition(input.rank == 3, "masked mean pooling needs (B, T, C) input, got \(input.shape)")
        precondition(mask.count == input.shape[0] * input.shape[1], "mask needs \(input.shape[0] * input.shape[1]) entries, got \(mask.count)")
        return (input.shape[0], input.shape[1], input.shape[2])
    }
}
