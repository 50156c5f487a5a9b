// Evaluation of a model on held-out phantom studies: segmentation overlap, boundary distance and
// lesion-wise detection per study and overall.
import Foundation
import Imaging
import Phantom

/// The scores of one study.
public struct StudyEvaluation: Codable, Sendable {
    public let patient: Int
    public let liverDice: Double
    public let lesionDice: Double
    /// Lesion HD95 in mm; nil when prediction or truth has no lesion.
    public let lesionHausdorff95: Double?
    public let detection: DetectionCounts
    /// Detection counted over true lesions of 10 mm or more (and all predictions).
    public let detectionAtLeast10mm: DetectionCounts
}

/// Scores over a held-out set.
public struct EvaluationReport: Codable, Sendable {
    public let studies: [StudyEvaluation]
    public var meanLiverDice: Double { studies.map(\.liverDice).reduce(0, +) / Double(max(studies.count, 1)) }
    public var meanLesionDice: Double { studies.map(\.lesionDice).reduce(0, +) / Double(max(studies.count, 1)) }
    public var medianLesionHausdorff95: Double? {
        let values = studies.compactMap(\.lesionHausdorff95).sorted()
        return values.isEmpty ? nil : values[values.count / 2]
    }
    public var detection: DetectionCounts { studies.map(\.detection).reduce(DetectionCounts(), +) }
    public var detectionAtLeast10mm: DetectionCounts { studies.map(\.detectionAtLeast10mm).reduce(DetectionCounts(), +) }
}

extension STDNetModel {
    /// Evaluates the model on phantom patients `1...patients` of `seed`, rendered at the model's
    /// spacing with `motion` mm of breathing shift, segmenting each study by sliding window.
    public func evaluate(seed: UInt64, patients: Int, motionMillimetres: Double, window: [Int],
                         progress: (String) -> Void = { _ in }) -> EvaluationReport {
        let spacing = Vector3(configuration.spacing[0], configuration.spacing[1], configuration.spacing[2])
        let size = VolumeSize(Int(360 / spacing.x), Int(264 / spacing.y), Int(180 / spacing.z))
        var studies: [StudyEvaluation] = []
        for number in 1...max(patients, 1) {
            let patient = PhantomPatient(seed: seed, number: number, options: PhantomOptions(size: size, spacing: spacing, motionMillimetres: motionMillimetres))
            let study = patient.renderStudy(timepoint: 0)
            let extent = [size.z, size.y, size.x]
            let phases = Phase.allCases.map { phase in study.phases[phase].map { $0.voxels.map(normaliseHounsfieldUnits) } }
            let segmentation = segment(phases, extent: extent, options: SlidingWindowOptions(window: window, overlap: 0.25))

            let truthLiver = study.labels.voxels.map { $0 != 0 }
            let truthLesion = study.labels.voxels.map { $0 == 2 }
            let predictedLiver = segmentation.labels.map { $0 != 0 }
            let predictedLesion = segmentation.labels.map { $0 == 2 }
            let hd = hausdorff95(predictedLesion, truthLesion, extent: extent, spacing: [spacing.z, spacing.y, spacing.x])

            var predictedLabels = study.labels
            predictedLabels.voxels = segmentation.labels
            let predictedComponents = lesionComponents(predictedLabels)
            var truthComponents: [[Int]] = []
            var largeTruthComponents: [[Int]] = []
            for lesion in study.lesions {
                let voxels = study.lesionInstances.voxels.indices.filter { study.lesionInstances.voxels[$0] == UInt16(lesion.id) }
                guard !voxels.isEmpty else { continue }
                truthComponents.append(voxels)
                if lesion.longestAxialDiameterMillimetres >= 10 { largeTruthComponents.append(voxels) }
            }
            var large = detectionCounts(predicted: predictedComponents, truth: largeTruthComponents)
            // Predictions that match a small true lesion are neither hits nor false alarms here.
            let smallTruth = truthComponents.filter { component in !largeTruthComponents.contains { $0 == component } }
            let matchedSmall = detectionCounts(predicted: predictedComponents, truth: smallTruth).truePositives
            large.falsePositives = max(0, large.falsePositives - matchedSmall)

            let evaluation = StudyEvaluation(
                patient: number, liverDice: dice(predictedLiver, truthLiver), lesionDice: dice(predictedLesion, truthLesion),
                lesionHausdorff95: hd.isFinite ? hd : nil,
                detection: detectionCounts(predicted: predictedComponents, truth: truthComponents), detectionAtLeast10mm: large)
            studies.append(evaluation)
            progress(String(format: "patient %d: liver Dice %.3f, lesion Dice %.3f, lesions %d found of %d", number,
                            evaluation.liverDice, evaluation.lesionDice, evaluation.detection.truePositives, truthComponents.count))
        }
        return EvaluationReport(studies: studies)
    }
}

/// 26-connected components of label 2, as voxel index lists.
func lesionComponents(_ labels: Volume<UInt8>) -> [[Int]] {
    let size = labels.size
    var visited = [Bool](repeating: false, count: labels.voxels.count)
    var components: [[Int]] = []
    for seed in labels.voxels.indices where labels.voxels[seed] == 2 && !visited[seed] {
        var members: [Int] = []
        var stack = [seed]
        visited[seed] = true
        while let index = stack.popLast() {
            members.append(index)
            let (i, j, k) = (index % size.x, (index / size.x) % size.y, index / (size.x * size.y))
            for dk in -1...1 where k + dk >= 0 && k + dk < size.z {
                for dj in -1...1 where j + dj >= 0 && j + dj < size.y {
                    for di in -1...1 where i + di >= 0 && i + di < size.x {
                        let neighbour = (i + di) + size.x * ((j + dj) + size.y * (k + dk))
                        if !visited[neighbour] && labels.voxels[neighbour] == 2 {
                            visited[neighbour] = true
                            stack.append(neighbour)
                        }
                    }
                }
            }
        }
        components.append(members)
    }
    return components
}
