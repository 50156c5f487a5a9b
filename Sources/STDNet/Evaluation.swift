// Evaluation of a model on held-out phantom studies: segmentation overlap, boundary distance and
// lesion-wise detection per study and overall.
import Foundation
import Imaging
import Lesions
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
    /// Every true lesion of the study and whether a reported lesion matched it.
    public let lesions: [LesionDetection]
    /// Every reported lesion that matched no true lesion.
    public let falseLesions: [FalseLesion]
}

/// One true lesion of a study: what it is and whether the segmentation found it.
public struct LesionDetection: Codable, Sendable {
    public let lesionClass: String
    public let longestAxialDiameterMillimetres: Double
    public let volumeMillilitres: Double
    /// Whether a reported lesion (a predicted component from the analysis's minimum volume on)
    /// was matched to it.
    public let found: Bool
    /// The highest lesion probability inside the true lesion, which shows how far a missed
    /// lesion was from being labelled at all.
    public let maximumLesionProbability: Double
}

/// A reported lesion that matched no true lesion, and where it lies.
public struct FalseLesion: Codable, Sendable {
    public let volumeMillilitres: Double
    public let meanLesionProbability: Double
    /// The share of its voxels that the truth labels liver or lesion.
    public let shareInsideTrueLiver: Double
    /// The shortest distance to a true lesion in mm, nil in a study without lesions. It is 0 for
    /// a fragment of a true lesion that another reported lesion matched.
    public let distanceToTrueLesionMillimetres: Double?
}

/// The characterisation of one true lesion: its class and the head's probabilities, computed on
/// a window centred on the lesion with the true lesion mask.
public struct LesionClassification: Codable, Sendable {
    public let trueClass: Int
    public let probabilities: [Double]
}

/// Scores over a held-out set.
public struct EvaluationReport: Codable, Sendable {
    public let studies: [StudyEvaluation]
    public let lesions: [LesionClassification]

    /// Accuracy and macro-F1 of the most probable class.
    public var classification: (accuracy: Double, macroF1: Double) {
        let predicted = lesions.map { lesion in
            lesion.probabilities.indices.max { lesion.probabilities[$0] < lesion.probabilities[$1] } ?? 0
        }
        return classificationScores(predicted: predicted, truth: lesions.map(\.trueClass))
    }

    /// AUC of the HCC probability (class 0) for HCC against every other class.
    public var hccAreaUnderCurve: Double? {
        areaUnderCurve(scores: lesions.map { $0.probabilities[0] }, positives: lesions.map { $0.trueClass == 0 })
    }
    public var meanLiverDice: Double { studies.map(\.liverDice).reduce(0, +) / Double(max(studies.count, 1)) }
    public var meanLesionDice: Double { studies.map(\.lesionDice).reduce(0, +) / Double(max(studies.count, 1)) }
    public var medianLesionHausdorff95: Double? {
        let values = studies.compactMap(\.lesionHausdorff95).sorted()
        return values.isEmpty ? nil : values[values.count / 2]
    }
    public var detection: DetectionCounts { studies.map(\.detection).reduce(DetectionCounts(), +) }
    public var detectionAtLeast10mm: DetectionCounts { studies.map(\.detectionAtLeast10mm).reduce(DetectionCounts(), +) }

    /// True lesions found and in all under 10 mm, from 10 to 20 mm and from 20 mm of longest
    /// axial diameter.
    public var foundByDiameter: [LesionsFound] {
        let lesions = studies.flatMap(\.lesions)
        let ranges: [(label: String, range: Range<Double>)] = [("< 10 mm", 0..<10), ("10-20 mm", 10..<20), (">= 20 mm", 20..<Double.infinity)]
        return ranges.map { label, range in
            let inRange = lesions.filter { range.contains($0.longestAxialDiameterMillimetres) }
            return LesionsFound(diameter: label, found: inRange.filter(\.found).count, total: inRange.count)
        }
    }

    /// The false lesions counted by where they lie.
    public var falseLesionPlaces: FalseLesionPlaces {
        let lesions = studies.flatMap(\.falseLesions)
        let overlapping = lesions.filter { $0.distanceToTrueLesionMillimetres == 0 }.count
        let inLiver = lesions.filter { $0.distanceToTrueLesionMillimetres != 0 && $0.shareInsideTrueLiver >= 0.5 }.count
        return FalseLesionPlaces(overlappingTrueLesion: overlapping, elsewhereInLiver: inLiver,
                                 outsideLiver: lesions.count - overlapping - inLiver)
    }
}

/// How many true lesions of a diameter range were found.
public struct LesionsFound: Codable, Sendable, Equatable {
    public let diameter: String
    public let found: Int
    public let total: Int
}

/// False lesions by where they lie: overlapping a true lesion that another reported lesion
/// matched, elsewhere in the true liver (half of their voxels or more), or outside it.
public struct FalseLesionPlaces: Codable, Sendable, Equatable {
    public let overlappingTrueLesion: Int
    public let elsewhereInLiver: Int
    public let outsideLiver: Int
}

extension STDNetModel {
    /// The phantom seed that `stdnet evaluate` scores on by default, and that no training stream
    /// may draw.
    public static let heldOutSeed: UInt64 = 1000

    /// Evaluates the model on phantom patients `1...patients` of `seed`, rendered at the model's
    /// spacing with `motion` mm of breathing shift, segmenting each study by sliding window.
    public func evaluate(seed: UInt64, patients: Int, motionMillimetres: Double, window: [Int],
                         progress: (String) -> Void = { _ in }) -> EvaluationReport {
        let spacing = Vector3(configuration.spacing[0], configuration.spacing[1], configuration.spacing[2])
        let size = PhantomOptions.abdomenGrid(spacing: spacing)
        var studies: [StudyEvaluation] = []
        var classifications: [LesionClassification] = []
        for number in 1...max(patients, 1) {
            let patient = PhantomPatient(seed: seed, number: number, options: PhantomOptions(size: size, spacing: spacing, motionMillimetres: motionMillimetres))
            let study = patient.renderStudy(timepoint: 0)
            let extent = [size.z, size.y, size.x]
            let phases = Phase.allCases.map { phase in study.phases[phase].map { $0.voxels.map(normaliseHounsfieldUnits) } }
            let air = study.phases[.portalVenous]?.voxels.map { isAir(hounsfieldUnits: $0) }
            let segmentation = segment(phases, extent: extent, options: SlidingWindowOptions(window: window, overlap: 0.25), knownBackground: air)

            let truthLiver = study.labels.voxels.map { $0 != 0 }
            let truthLesion = study.labels.voxels.map { $0 == 2 }
            let predictedLiver = segmentation.labels.map { $0 != 0 }
            let predictedLesion = segmentation.labels.map { $0 == 2 }
            let hd = hausdorff95(predictedLesion, truthLesion, extent: extent, spacing: [spacing.z, spacing.y, spacing.x])

            var predictedLabels = study.labels
            predictedLabels.voxels = segmentation.labels
            // Detection counts the lesions the analysis would report.
            let predictedComponents = connectedLesions(in: predictedLabels, minimumVolumeMillilitres: LesionComponent.minimumReportedMillilitres)
                .map(\.voxels)
            var truthComponents: [[Int]] = []
            var truthLesions: [LesionTruth] = []
            var largeTruthComponents: [[Int]] = []
            for lesion in study.lesions {
                let voxels = study.lesionInstances.voxels.indices.filter { study.lesionInstances.voxels[$0] == UInt16(lesion.id) }
                guard !voxels.isEmpty else { continue }
                truthComponents.append(voxels)
                truthLesions.append(lesion)
                if lesion.longestAxialDiameterMillimetres >= 10 { largeTruthComponents.append(voxels) }
            }
            let matches = matchDetections(predicted: predictedComponents, truth: truthComponents)
            let found = matches.truth
            let classes = configuration.segmentationClasses
            func lesionProbability(_ voxel: Int) -> Double { Double(segmentation.probabilities.scalars[voxel * classes + Int(SegmentationLabel.lesion)]) }
            var lesionDetections: [LesionDetection] = []
            for (index, (lesion, voxels)) in zip(truthLesions, truthComponents).enumerated() {
                lesionDetections.append(LesionDetection(
                    lesionClass: lesion.lesionClass.rawValue, longestAxialDiameterMillimetres: lesion.longestAxialDiameterMillimetres,
                    volumeMillilitres: lesion.volumeMillilitres, found: found.contains(index),
                    maximumLesionProbability: voxels.map(lesionProbability).max() ?? 0))
            }
            let voxelMillilitres = spacing.x * spacing.y * spacing.z / 1000
            let unmatched = predictedComponents.indices.filter { !matches.predicted.contains($0) }.map { predictedComponents[$0] }
            let distances = shortestDistances(from: unmatched, to: truthLesion, extent: extent, spacing: [spacing.z, spacing.y, spacing.x])
            let falseLesions = zip(unmatched, distances).map { voxels, distance in
                FalseLesion(
                    volumeMillilitres: Double(voxels.count) * voxelMillilitres,
                    meanLesionProbability: voxels.map(lesionProbability).reduce(0, +) / Double(voxels.count),
                    shareInsideTrueLiver: Double(voxels.filter { truthLiver[$0] }.count) / Double(voxels.count),
                    distanceToTrueLesionMillimetres: distance.isFinite ? distance : nil)
            }
            var large = detectionCounts(predicted: predictedComponents, truth: largeTruthComponents)
            // Predictions that match a small true lesion are neither hits nor false alarms here.
            let smallTruth = truthComponents.filter { component in !largeTruthComponents.contains { $0 == component } }
            let matchedSmall = detectionCounts(predicted: predictedComponents, truth: smallTruth).truePositives
            large.falsePositives = max(0, large.falsePositives - matchedSmall)

            let evaluation = StudyEvaluation(
                patient: number, liverDice: dice(predictedLiver, truthLiver), lesionDice: dice(predictedLesion, truthLesion),
                lesionHausdorff95: hd.isFinite ? hd : nil,
                detection: detectionCounts(predicted: predictedComponents, truth: truthComponents), detectionAtLeast10mm: large,
                lesions: lesionDetections, falseLesions: falseLesions)
            studies.append(evaluation)
            classifications += classifyLesions(study, phases: phases, extent: extent, window: window)
            progress(String(format: "patient %d: liver Dice %.3f, lesion Dice %.3f, lesions %d found of %d", number,
                            evaluation.liverDice, evaluation.lesionDice, evaluation.detection.truePositives, truthComponents.count))
        }
        return EvaluationReport(studies: studies, lesions: classifications)
    }

    /// Characterises every true lesion of a study on a window centred on it.
    private func classifyLesions(_ study: PhantomStudy, phases: [[Float]?], extent: [Int], window: [Int]) -> [LesionClassification] {
        var classes: [Int] = []
        var lesions: [[Int]] = []
        for lesion in study.lesions {
            let voxels = study.lesionInstances.voxels.indices.filter { study.lesionInstances.voxels[$0] == UInt16(lesion.id) }
            guard voxels.count >= 8, let classIndex = LesionClass.allCases.firstIndex(of: lesion.lesionClass) else { continue }
            classes.append(classIndex)
            lesions.append(voxels)
        }
        let probabilities = characteriseLesions(phases: phases, extent: extent, window: window, lesions: lesions)
        return zip(classes, probabilities).compactMap { trueClass, probabilities in
            probabilities.map { LesionClassification(trueClass: trueClass, probabilities: $0) }
        }
    }
}
