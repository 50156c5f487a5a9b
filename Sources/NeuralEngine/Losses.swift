import Foundation

/// Softmax cross-entropy between logits and integer class labels, averaged over rows.
///
/// With class weights w, each row's loss is weighted by the weight of its label and the sum is
/// divided by the sum of those weights: the weighted mean of PyTorch's `cross_entropy(weight=w)`.
///
/// Shapes: logits (..., K) with the classes on the last axis; labels hold one class index in
/// 0..<K per row, so `labels.count` is the product of the leading axes.
public enum CrossEntropyLoss {
    /// Computes the mean loss and the softmax probabilities, shape (..., K).
    public static func forward(logits: Tensor, labels: [UInt8], classWeights: [Float]? = nil) -> (loss: Float, probabilities: Tensor) {
        let classes = logits.shape.last ?? 1
        let rows = logits.count / classes
        precondition(labels.count == rows, "cross-entropy needs \(rows) labels, got \(labels.count)")
        precondition(classWeights.map { $0.count == classes } ?? true, "cross-entropy needs \(classes) class weights")
        let probabilities = Softmax.forward(logits)
        var total: Double = 0
        var weightSum: Double = 0
        probabilities.scalars.withUnsafeBufferPointer { p in
            for row in 0..<rows {
                let label = Int(labels[row])
                precondition(label < classes, "label \(label) at row \(row) is not below the class count \(classes)")
                let weight = Double(classWeights?[label] ?? 1)
                total -= weight * Double(logf(max(p[row * classes + label], Float.leastNormalMagnitude)))
                weightSum += weight
            }
        }
        return (Float(total / weightSum), probabilities)
    }

    /// Computes dL/dlogits = w(label) (p - onehot(label)) / Σ w from the forward probabilities,
    /// with every w 1 when no class weights are given.
    public static func backward(probabilities: Tensor, labels: [UInt8], classWeights: [Float]? = nil) -> Tensor {
        let classes = probabilities.shape.last ?? 1
        let rows = probabilities.count / classes
        let weightSum = labels.reduce(0.0) { $0 + Double(classWeights?[Int($1)] ?? 1) }
        var logitsGradient = probabilities
        logitsGradient.scalars.withUnsafeMutableBufferPointer { g in
            for row in 0..<rows {
                let label = Int(labels[row])
                let scale = Float(Double(classWeights?[label] ?? 1) / weightSum)
                g[row * classes + label] -= 1
                for k in 0..<classes {
                    g[row * classes + k] *= scale
                }
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

/// Soft Dice per instance of one class, averaged over the instances so that each counts once
/// whatever its size: the instance term of "blob loss" (Kofler et al., arXiv:2205.08209).
///
/// Instance i with voxel rows M_i is scored against the voxels whose label is not `target`:
/// Dice_i = (2 I_i + s) / (B + I_i + |M_i| + s), with I_i = Σ_{M_i} p and B the sum of p over
/// voxels of other labels, where p is the probability of `target`. Voxels of the target class in
/// other instances, or in none, do not count for instance i. The loss is 1 - mean_i Dice_i, and
/// 0 without instances.
///
/// Shapes: probabilities (rows, K); labels one per row; instances hold row indices.
public enum InstanceDiceLoss {
    /// Computes the loss.
    public static func forward(probabilities: Tensor, labels: [UInt8], target: Int, instances: [[Int]],
                               smoothing: Float = DiceLoss.defaultSmoothing) -> Float {
        guard !instances.isEmpty else { return 0 }
        let terms = instanceTerms(probabilities: probabilities, labels: labels, target: target, instances: instances, smoothing: smoothing)
        let meanDice = terms.map { $0.numerator / $0.union }.reduce(0, +) / Double(instances.count)
        return Float(1 - meanDice)
    }

    /// Computes dL/dp from the forward probabilities. Only the `target` column is non-zero.
    public static func backward(probabilities: Tensor, labels: [UInt8], target: Int, instances: [[Int]],
                                smoothing: Float = DiceLoss.defaultSmoothing) -> Tensor {
        var gradient = Tensor(shape: probabilities.shape)
        guard !instances.isEmpty else { return gradient }
        let classes = probabilities.shape.last ?? 1
        let rows = probabilities.count / classes
        let terms = instanceTerms(probabilities: probabilities, labels: labels, target: target, instances: instances, smoothing: smoothing)
        let share = 1 / Double(instances.count)

        // With N = 2 I + s and U = B + I + |M| + s, d(Dice)/dp is (2 U - N) / U² inside the
        // instance and -N / U² on voxels of other labels. The loss carries a factor of -1/n.
        let otherLabels = terms.map { $0.numerator / ($0.union * $0.union) }.reduce(0, +) * share
        gradient.scalars.withUnsafeMutableBufferPointer { g in
            for row in 0..<rows where Int(labels[row]) != target {
                g[row * classes + target] = Float(otherLabels)
            }
            for (instance, term) in zip(instances, terms) {
                let inside = -(2 * term.union - term.numerator) / (term.union * term.union) * share
                for row in instance {
                    g[row * classes + target] += Float(inside)
                }
            }
        }
        return gradient
    }

    private static func instanceTerms(probabilities: Tensor, labels: [UInt8], target: Int, instances: [[Int]],
                                      smoothing: Float) -> [(numerator: Double, union: Double)] {
        let classes = probabilities.shape.last ?? 1
        let rows = probabilities.count / classes
        precondition(labels.count == rows, "instance Dice loss needs \(rows) labels, got \(labels.count)")
        return probabilities.scalars.withUnsafeBufferPointer { p in
            var otherLabels: Double = 0
            for row in 0..<rows where Int(labels[row]) != target {
                otherLabels += Double(p[row * classes + target])
            }
            return instances.map { instance in
                precondition(!instance.isEmpty, "an instance of the instance Dice loss has no rows")
                var intersection: Double = 0
                for row in instance {
                    precondition(Int(labels[row]) == target, "instance row \(row) has label \(labels[row]), not the target class \(target)")
                    intersection += Double(p[row * classes + target])
                }
                let numerator = 2 * intersection + Double(smoothing)
                return (numerator, otherLabels + intersection + Double(instance.count) + Double(smoothing))
            }
        }
    }
}
