/// Concatenation along the last axis, which is the channel axis of channels-last volumes and of
/// token sequences. Shapes: inputs (..., C_i) with equal leading axes, output (..., Σ C_i).
public enum Concatenation {
    /// Joins the inputs along the last axis.
    public static func forward(_ inputs: [Tensor]) -> Tensor {
        precondition(!inputs.isEmpty, "concatenation needs at least one input")
        let leading = Array(inputs[0].shape.dropLast())
        for input in inputs {
            precondition(Array(input.shape.dropLast()) == leading, "concatenation inputs differ in leading axes: \(inputs.map(\.shape))")
        }
        let widths = inputs.map { $0.shape.last ?? 1 }
        let totalWidth = widths.reduce(0, +)
        let rows = leading.reduce(1, *)
        // Every element is written below. Long inputs are split between the cores, and each row
        // is copied by an inline loop rather than a memmove call per row.
        var output = Tensor(uninitializedShape: leading + [totalWidth])
        output.scalars.withUnsafeMutableBufferPointer { y in
            let y = SendablePointer(y)
            var offset = 0
            for (input, width) in zip(inputs, widths) {
                input.scalars.withUnsafeBufferPointer { x in
                    let x = SendablePointer(x)
                    forEachRangeConcurrently(count: rows, grain: 1 << 14) { [offset] range in
                        for row in range {
                            let source = x.base + row * width
                            let target = y.base + row * totalWidth + offset
                            for i in 0..<width {
                                target[i] = source[i]
                            }
                        }
                    }
                }
                offset += width
            }
        }
        return output
    }

    /// Splits dL/dy back into one gradient per input, with the given last-axis widths.
    public static func backward(outputGradient: Tensor, widths: [Int]) -> [Tensor] {
        let totalWidth = outputGradient.shape.last ?? 1
        precondition(widths.reduce(0, +) == totalWidth, "widths \(widths) do not add up to \(totalWidth)")
        let leading = Array(outputGradient.shape.dropLast())
        let rows = leading.reduce(1, *)
        var offset = 0
        var gradients: [Tensor] = []
        outputGradient.scalars.withUnsafeBufferPointer { dy in
            for width in widths {
                var gradient = Tensor(shape: leading + [width])
                gradient.scalars.withUnsafeMutableBufferPointer { dx in
                    for row in 0..<rows {
                        (dx.baseAddress! + row * width).update(from: dy.baseAddress! + row * totalWidth + offset, count: width)
                    }
                }
                gradients.append(gradient)
                offset += width
            }
        }
        return gradients
    }
}
