import Foundation

/// Softmax cross-entropy between logits and integer class labels, averaged over rows.
///
/// Shapes: logits (..., K) with the classes on the last axis; labels hold one class index in
/// 0..<K per row, so `labels.count` is the product of the leading axes.
public enum CrossEntropyLoss {
    /// Computes the mean loss and the softmax probabilities, shape (..., K).
    public static func forward(logits: Tensor, labels: [UInt8]) -> (loss: Float, probabilities: Tensor) {
        let classes = logits.shape.last ?? 1
        let rows = logits.count / classes
        precondition(labels.count == rows, "cross-entropy needs \(rows) labels, got \(labels.count)")
        let probabilities = Softmax.forward(logits)
        var total: Double = 0
        probabilities.scalars.withUnsafeBufferPointer { p in
            for row in 0..<rows {
                let label = Int(labels[row])
                precondition(label < classes, "label \(label) at row \(row) is not below the class count \(classes)")
                total -= Double(logf(max(p[row * classes + label], Float.leastNormalMagnitude)))
            }
        }
        return (Float(total / Double(rows)), probabilities)
    }

    /// Computes dL/dlogits = (p - onehot(label)) / rows from the forward probabilities.
    public static func backward(probabilities: Tensor, labels: [UInt8]) -> Tensor {
        let classes = probabilities.shape.last ?? 1
        let rows = probabilities.count / classes
        let scale = 1 / Float(rows)
        var logitsGradient = probabilities
        logitsGradient.scalars.withUnsafeMutableBufferPointer { g in
            for row in 0..<rows {
                g[row * classes + Int(labels[row])] -= 1
            }
            for i in g.indices {
                g[i] *= scale
            }
        }
        return logitsGradient
    }
}

/// Soft Dice loss on class probabilities: 1 - mean over classes k of
/// (2 Σ p_k g_k + s) / (Σ p_k + Σ g_k + s), where g_k is the one-hot label.
/// The smoothing term s keeps a class absent from both prediction and label at a Dice of 1.
///
/// Shapes: probabilities (..., K), usually the output of `Softmax`; labels one per row.
public enum DiceLoss {
    /// The smoothing term s.
    public static let defaultSmoothing: Float = 1e-5

    /// Computes the loss.
    public static func forward(probabilities: Tensor, labels: [UInt8], smoothing: Float = defaultSmoothing) -> Float {
        let sums = classSums(probabilities: probabilities, labels: labels)
        var total: Double = 0
        for k in sums.intersection.indices {
            total += (2 * sums.intersection[k] + Double(smoothing)) / (sums.prediction[k] + sums.label[k] + Double(smoothing))
        }
        return Float(1 - total / Double(sums.intersection.count))
    }

    /// Computes dL/dp from the forward probabilities.
    public static func backward(probabilities: Tensor, labels: [UInt8], smoothing: Float = defaultSmoothing) -> Tensor {
        let classes = probabilities.shape.last ?? 1
        let rows = probabilities.count / classes
        let sums = classSums(probabilities: probabilities, labels: labels)

        // For class k with I = Σ p g and U = Σ p + Σ g + s:
        // d(dice_k)/dp = (2 g U - (2 I + s)) / U², and the loss carries a factor -1/K.
        var onLabel = [Float](repeating: 0, count: classes)
        var offLabel = [Float](repeating: 0, count: classes)
        for k in 0..<classes {
            let union = sums.prediction[k] + sums.label[k] + Double(smoothing)
            let numerator = 2 * sums.intersection[k] + Double(smoothing)
            offLabel[k] = Float((numerator / (union * union)) / Double(classes))
            onLabel[k] = Float((numerator / (union * union) - 2 / union) / Double(classes))
        }
        var gradient = Tensor(shape: probabilities.shape)
        gradient.scalars.withUnsafeMutableBufferPointer { g in
            for row in 0..<rows {
                for k in 0..<classes {
                    g[row * classes + k] = offLabel[k]
                }
                let label = Int(labels[row])
                g[row * classes + label] = onLabel[label]
            }
        }
        return gradient
    }

    private static func classSums(
        probabilities: Tensor, labels: [UInt8]
    ) -> (intersection: [Double], prediction: [Double], label: [Double]) {
        let classes = probabilities.shape.last ?? 1
        let rows = probabilities.count / classes
        precondition(labels.count == rows, "Dice loss needs \(rows) labels, got \(labels.count)")
        var intersection = [Double](repeating: 0, count: classes)
        var prediction = [Double](repeating: 0, count: classes)
        var label = [Double](repeating: 0, count: classes)
        probabilities.scalars.withUnsafeBufferPointer { p in
            for row in 0..<rows {
                let labelClass = Int(labels[row])
                precondition(labelClass < classes, "label \(labelClass) at row \(row) is not below the class count \(classes)")
                for k in 0..<classes {
                    prediction[k] += Double(p[row * classes + k])
                }
                intersection[labelClass] += Double(p[row * classes + labelClass])
                label[labelClass] += 1
            }
        }
        return (intersection, prediction, label)
    }
}
