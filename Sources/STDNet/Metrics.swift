// Evaluation metrics used in the field: Dice, HD95, lesion-wise detection, AUC and macro-F1.
import Foundation

/// Returns the Dice similarity coefficient of two masks; 1 when both are empty.
public func dice(_ prediction: [Bool], _ truth: [Bool]) -> Double {
    precondition(prediction.count == truth.count, "masks differ in size")
    var intersection = 0, predicted = 0, actual = 0
    for index in prediction.indices {
        if prediction[index] { predicted += 1 }
        if truth[index] { actual += 1 }
        if prediction[index] && truth[index] { intersection += 1 }
    }
    return predicted + actual == 0 ? 1 : 2 * Double(intersection) / Double(predicted + actual)
}

/// Returns the 95th percentile of the symmetric surface distances between two masks, in mm.
///
/// Surface voxels are mask voxels with a face neighbour outside the mask. Every surface voxel of
/// each mask is measured to the nearest surface voxel of the other, and the result is the 95th
/// percentile of all those distances. Infinity when exactly one mask is empty, 0 when both are.
///
/// - parameters:
///   - extent: (D, H, W) of the masks, which are in (d, h, w) order.
///   - spacing: voxel spacing along (d, h, w) in mm.
public func hausdorff95(_ prediction: [Bool], _ truth: [Bool], extent: [Int], spacing: [Double]) -> Double {
    let a = surfacePoints(prediction, extent: extent, spacing: spacing)
    let b = surfacePoints(truth, extent: extent, spacing: spacing)
    if a.isEmpty && b.isEmpty { return 0 }
    if a.isEmpty || b.isEmpty { return .infinity }
    let distances = (a.map { nearestDistance(from: $0, to: b) } + b.map { nearestDistance(from: $0, to: a) }).sorted()
    // The nearest-rank percentile.
    let rank = Int((0.95 * Double(distances.count)).rounded(.up)) - 1
    return distances[max(0, min(rank, distances.count - 1))]
}

/// Returns, for each of `components`, the shortest distance between one of its voxels and a
/// voxel of `mask`, in mm: 0 when they share a voxel, infinity when either is empty.
///
/// - parameters:
///   - components: each a list of linear voxel indices (w fastest).
///   - mask: a mask of `extent`, in (d, h, w) order.
///   - spacing: voxel spacing along (d, h, w) in mm.
public func shortestDistances(from components: [[Int]], to mask: [Bool], extent: [Int], spacing: [Double]) -> [Double] {
    // The voxels of two disjoint masks that lie closest together are surface voxels of both.
    let targets = surfacePoints(mask, extent: extent, spacing: spacing)
    return components.map { component in
        if component.contains(where: { mask[$0] }) { return 0 }
        var componentMask = [Bool](repeating: false, count: mask.count)
        for index in component { componentMask[index] = true }
        let distances = surfacePoints(componentMask, extent: extent, spacing: spacing).map { nearestDistance(from: $0, to: targets) }
        return distances.min() ?? .infinity
    }
}

private func surfacePoints(_ mask: [Bool], extent: [Int], spacing: [Double]) -> [SIMD3<Double>] {
    var points: [SIMD3<Double>] = []
    let (depth, height, width) = (extent[0], extent[1], extent[2])
    for d in 0..<depth {
        for h in 0..<height {
            for w in 0..<width where mask[(d * height + h) * width + w] {
                let neighbours = [(d - 1, h, w), (d + 1, h, w), (d, h - 1, w), (d, h + 1, w), (d, h, w - 1), (d, h, w + 1)]
                let onSurface = neighbours.contains { n in
                    n.0 < 0 || n.1 < 0 || n.2 < 0 || n.0 >= depth || n.1 >= height || n.2 >= width || !mask[(n.0 * height + n.1) * width + n.2]
                }
                if onSurface { points.append(SIMD3(Double(d) * spacing[0], Double(h) * spacing[1], Double(w) * spacing[2])) }
            }
        }
    }
    return points
}

private func nearestDistance(from point: SIMD3<Double>, to others: [SIMD3<Double>]) -> Double {
    var best = Double.infinity
    for other in others {
        let difference = other - point
        best = min(best, (difference * difference).sum())
    }
    return best.squareRoot()
}

/// Lesion-wise detection counts: a predicted lesion matches a true one when they overlap.
public struct DetectionCounts: Codable, Sendable, Equatable {
    public var truePositives = 0
    public var falsePositives = 0
    public var falseNegatives = 0

    public init(truePositives: Int = 0, falsePositives: Int = 0, falseNegatives: Int = 0) {
        self.truePositives = truePositives
        self.falsePositives = falsePositives
        self.falseNegatives = falseNegatives
    }

    public var precision: Double { truePositives + falsePositives == 0 ? 1 : Double(truePositives) / Double(truePositives + falsePositives) }
    public var recall: Double { truePositives + falseNegatives == 0 ? 1 : Double(truePositives) / Double(truePositives + falseNegatives) }
    public var f1: Double { precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall) }

    public static func + (lhs: DetectionCounts, rhs: DetectionCounts) -> DetectionCounts {
        DetectionCounts(truePositives: lhs.truePositives + rhs.truePositives, falsePositives: lhs.falsePositives + rhs.falsePositives,
                        falseNegatives: lhs.falseNegatives + rhs.falseNegatives)
    }
}

/// Counts detections between predicted components (voxel index lists) and true lesions (voxel
/// index lists). Pairs are matched one to one, largest overlap first.
public func detectionCounts(predicted: [[Int]], truth: [[Int]]) -> DetectionCounts {
    let matches = matchDetections(predicted: predicted, truth: truth)
    return DetectionCounts(truePositives: matches.truth.count, falsePositives: predicted.count - matches.predicted.count,
                           falseNegatives: truth.count - matches.truth.count)
}

/// Returns the indices of the predicted components and of the true lesions that `detectionCounts`
/// matches to each other.
public func matchDetections(predicted: [[Int]], truth: [[Int]]) -> (predicted: Set<Int>, truth: Set<Int>) {
    var overlaps: [(overlap: Int, predicted: Int, truth: Int)] = []
    let truthSets = truth.map(Set.init)
    for (p, voxels) in predicted.enumerated() {
        for (t, set) in truthSets.enumerated() {
            let overlap = voxels.reduce(0) { $0 + (set.contains($1) ? 1 : 0) }
            if overlap > 0 { overlaps.append((overlap, p, t)) }
        }
    }
    overlaps.sort { $0.overlap > $1.overlap }
    var usedPredicted = Set<Int>(), usedTruth = Set<Int>()
    for pair in overlaps where !usedPredicted.contains(pair.predicted) && !usedTruth.contains(pair.truth) {
        usedPredicted.insert(pair.predicted)
        usedTruth.insert(pair.truth)
    }
    return (usedPredicted, usedTruth)
}

/// Returns the area under the ROC curve of scores for positive against negative cases: the chance that a
/// random positive scores above a random negative, ties counting one half (Mann-Whitney U).
public func areaUnderCurve(scores: [Double], positives: [Bool]) -> Double? {
    let positive = zip(scores, positives).filter { $0.1 }.map(\.0)
    let negative = zip(scores, positives).filter { !$0.1 }.map(\.0)
    guard !positive.isEmpty, !negative.isEmpty else { return nil }
    var wins = 0.0
    for p in positive {
        for n in negative { wins += p > n ? 1 : (p == n ? 0.5 : 0) }
    }
    return wins / Double(positive.count * negative.count)
}

/// Accuracy and the macro-averaged F1 over classes that occur in the truth or the predictions.
public func classificationScores(predicted: [Int], truth: [Int]) -> (accuracy: Double, macroF1: Double) {
    precondition(predicted.count == truth.count, "\(predicted.count) predictions for \(truth.count) cases")
    guard !truth.isEmpty else { return (1, 1) }
    let accuracy = Double(zip(predicted, truth).filter { $0 == $1 }.count) / Double(truth.count)
    let classes = Set(predicted).union(truth)
    let f1s = classes.map { item -> Double in
        let tp = Double(zip(predicted, truth).filter { $0 == item && $1 == item }.count)
        let fp = Double(zip(predicted, truth).filter { $0 == item && $1 != item }.count)
        let fn = Double(zip(predicted, truth).filter { $0 != item && $1 == item }.count)
        return tp == 0 ? 0 : 2 * tp / (2 * tp + fp + fn)
    }
    return (accuracy, f1s.reduce(0, +) / Double(f1s.count))
}
