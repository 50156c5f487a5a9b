// `stdnet evaluate`: scores a model on held-out phantom studies.
import Foundation
import MemoryPolicy
import NeuralEngine
import Phantom
import STDNet

enum EvaluateCommand: Command {
    static let name = "evaluate"
    static let summary = "score a model on held-out phantom studies"
    static let usage = """
        usage: stdnet evaluate --model DIR [--seed S] [--patients N] [--motion MM] [--window D,H,W]
                               [--lesion-threshold P] [--lesion-grow-threshold P] [--json FILE]

        Renders phantom patients 1...N of seed S at the model's spacing, segments each by sliding
        window and prints Dice (liver, lesion), lesion HD95 and lesion detection per study and
        overall, and the lesion class accuracy, macro-F1 and HCC-against-rest AUC of the
        characterisation head on each true lesion of 8 voxels or more, and how many true lesions
        were found below 10 mm, from 10 to 20 mm and from 20 mm of longest axial diameter, and
        where the false lesions lie: overlapping a true lesion that another reported lesion
        matched, elsewhere in the true liver (half of their voxels or more), or outside it. Use
        a seed never used for training (training uses --seed, 1 by default).

          --model DIR      model folder (config.json, model.safetensors)
          --seed S         phantom seed of the held-out set (default 1000)
          --patients N     patients (default 5)
          --motion MM      largest breathing shift between phases, 0 to 50 mm (default 10)
          --window D,H,W   sliding window in voxels (default: the model's training window
                           from config.json, or 32,64,64 when it stores none)
          --lesion-threshold P
                           label a voxel lesion from this lesion probability on (0 < P < 1),
                           in place of the model's own setting
          --lesion-grow-threshold P
                           grow each lesion into the voxels connected to it down to this
                           lesion probability (0 < P, at most the lesion threshold, which
                           the model or --lesion-threshold must set), in place of the
                           model's own setting; none switches growing off
          --json FILE      also write the report as JSON: the run's settings, the summary
                           metrics of the table, and the per-study and per-lesion scores
        """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        restartWithPassiveOpenMPWaitUnlessSet()
        // The network allocates the same activation sizes for every window.
        keepFreedMemoryForReuse()
        warnAboutIgnoredVectorKernelSetting()
        let givenFolder = try arguments.option("model")
        let seed = try arguments.nonNegativeInteger("seed", default: STDNetModel.heldOutSeed)
        let patients = try arguments.integer("patients", default: 5)
        guard patients >= 1 else { throw UsageError("--patients expects a positive count, got \(patients)") }
        let motion = try arguments.number("motion", in: PhantomOptions.motionRange, noun: "millimetres", default: 10)
        let givenWindow = try arguments.option("window").map(slidingWindow)
        let json = try arguments.option("json")
        if let json { try requireFolder(ofFile: json, option: "--json") }
        let lesionThreshold = try arguments.option("lesion-threshold").map { text -> Double in
            guard let value = Double(text), value > 0, value < 1 else {
                throw UsageError("--lesion-threshold expects a probability greater than 0 and less than 1, got '\(text)'")
            }
            return value
        }
        // nil when the option is absent; an inner nil for "none", which switches growing off.
        let lesionGrowThreshold = try arguments.option("lesion-grow-threshold").map { text -> Double? in
            if text == "none" { return nil }
            guard let value = Double(text), value > 0, value < 1 else {
                throw UsageError("--lesion-grow-threshold expects a probability greater than 0 and less than 1, or none, got '\(text)'")
            }
            return value
        }
        try arguments.finish()
        let folder = try required(givenFolder, "--model DIR")

        var model = try STDNetModel.load(from: URL(fileURLWithPath: folder))
        if lesionThreshold != nil || lesionGrowThreshold != nil {
            var configuration = model.configuration
            configuration.lesionThreshold = lesionThreshold ?? configuration.lesionThreshold
            configuration.lesionGrowThreshold = lesionGrowThreshold ?? configuration.lesionGrowThreshold
            if let grow = configuration.lesionGrowThreshold {
                let source = lesionGrowThreshold == nil ? "lesionGrowThreshold \(grow) of \(folder)/config.json" : "--lesion-grow-threshold \(grow)"
                guard let threshold = configuration.lesionThreshold else {
                    throw UsageError("--lesion-grow-threshold needs a lesion threshold, which the model does not set: give --lesion-threshold too")
                }
                guard grow <= threshold else {
                    throw UsageError("\(source) must be at most the lesion threshold \(threshold): give a lower --lesion-grow-threshold or a higher --lesion-threshold")
                }
            }
            model = try STDNetModel(configuration: configuration, weights: model.weights)
        }
        // The characterisation is scored by class index against the phantom's classes.
        let phantomClasses = LesionClass.allCases.map(\.rawValue)
        guard model.configuration.lesionClasses == phantomClasses else {
            throw UsageError("the model's lesion classes \(model.configuration.lesionClasses) differ from the phantom's \(phantomClasses), in which evaluate scores the characterisation")
        }
        let window = givenWindow ?? model.configuration.slidingWindow
        let report = model.evaluate(seed: seed, patients: patients, motionMillimetres: motion, window: window) { print($0) }
        print("")
        printStudyTable(report.studies)
        print("")
        print("| metric | value |")
        print("| --- | ---: |")
        print(String(format: "| liver Dice (mean) | %.3f |", report.meanLiverDice))
        print(String(format: "| lesion Dice (mean) | %.3f |", report.meanLesionDice))
        print("| lesion HD95 (median, mm) | \(report.medianLesionHausdorff95.map { String(format: "%.1f", $0) } ?? "n/a") |")
        for (label, counts) in [("all lesions", report.detection), ("lesions >= 10 mm", report.detectionAtLeast10mm)] {
            print("| detection \(label): precision / recall / F1 | \(detectionScores(counts)) |")
        }
        let foundByDiameter = report.foundByDiameter.map { "\($0.found) of \($0.total) \($0.diameter)" }
        print("| lesions found, by longest axial diameter | \(foundByDiameter.joined(separator: ", ")) |")
        let places = report.falseLesionPlaces
        print("| false lesions: overlapping a true lesion / elsewhere in the liver / outside it | \(places.overlappingTrueLesion) / \(places.elsewhereInLiver) / \(places.outsideLiver) |")
        let classification = report.classification
        print(String(format: "| lesion class accuracy / macro-F1 (%d lesions) | %.3f / %.3f |", report.lesions.count,
                     classification.accuracy, classification.macroF1))
        print("| HCC-vs-rest AUC | \(report.hccAreaUnderCurve.map { String(format: "%.3f", $0) } ?? "n/a") |")
        if let json {
            let settings = EvaluationFile.Settings(
                model: folder, architecture: model.configuration.architecture.rawValue, seed: seed, patients: patients,
                motionMillimetres: motion, window: window, lesionThreshold: model.configuration.lesionThreshold,
                lesionGrowThreshold: model.configuration.lesionGrowThreshold)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(EvaluationFile(settings: settings, report: report, lesionClasses: model.configuration.lesionClasses)).write(to: URL(fileURLWithPath: json))
        }
        return 0
    }
}

/// Prints one row of scores per study: Dice, HD95 and detection, over all true lesions and over
/// those of 10 mm or more.
private func printStudyTable(_ studies: [StudyEvaluation]) {
    print("| patient | liver Dice | lesion Dice | lesion HD95, mm | detection: precision / recall / F1 | lesions >= 10 mm: precision / recall / F1 |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for study in studies {
        let hausdorff = study.lesionHausdorff95.map { String(format: "%.1f", $0) } ?? "n/a"
        print(String(format: "| %d | %.3f | %.3f | %@ | %@ | %@ |", study.patient, study.liverDice, study.lesionDice, hausdorff,
                     detectionScores(study.detection), detectionScores(study.detectionAtLeast10mm)))
    }
}

/// "precision / recall / F1", each to three decimals.
private func detectionScores(_ counts: DetectionCounts) -> String {
    String(format: "%.3f / %.3f / %.3f", counts.precision, counts.recall, counts.f1)
}

/// The file `--json` writes: how the run was made, its summary and its per-study and per-lesion
/// scores, so that a saved report can be compared with another without the command line.
private struct EvaluationFile: Encodable {
    struct Settings: Encodable {
        /// The model folder as given on the command line.
        let model: String
        let architecture: String
        let seed: UInt64
        let patients: Int
        let motionMillimetres: Double
        let window: [Int]
        /// The lesion probability from which a voxel is lesion; nil when the most probable class
        /// labels each voxel.
        let lesionThreshold: Double?
        let lesionGrowThreshold: Double?
    }

    struct Summary: Encodable {
        let meanLiverDice: Double
        let meanLesionDice: Double
        let medianLesionHausdorff95: Double?
        let detection: DetectionCounts
        let detectionAtLeast10mm: DetectionCounts
        let foundByDiameter: [LesionsFound]
        let falseLesionPlaces: FalseLesionPlaces
        let classAccuracy: Double
        let macroF1: Double
        let hccAreaUnderCurve: Double?
    }

    /// The characterisation of one true lesion, with classes by name as in the studies' lesions.
    struct CharacterisedLesion: Encodable {
        let trueClass: String
        let probabilities: [String: Double]
    }

    let settings: Settings
    let summary: Summary
    let studies: [StudyEvaluation]
    let characterisedLesions: [CharacterisedLesion]

    init(settings: Settings, report: EvaluationReport, lesionClasses: [String]) {
        self.settings = settings
        summary = Summary(
            meanLiverDice: report.meanLiverDice, meanLesionDice: report.meanLesionDice,
            medianLesionHausdorff95: report.medianLesionHausdorff95,
            detection: report.detection, detectionAtLeast10mm: report.detectionAtLeast10mm,
            foundByDiameter: report.foundByDiameter, falseLesionPlaces: report.falseLesionPlaces,
            classAccuracy: report.classification.accuracy, macroF1: report.classification.macroF1,
            hccAreaUnderCurve: report.hccAreaUnderCurve)
        studies = report.studies
        // The true class indexes the phantom's classes; the probabilities follow the model's.
        characterisedLesions = report.lesions.map { lesion in
            CharacterisedLesion(trueClass: LesionClass.allCases[lesion.trueClass].rawValue,
                                probabilities: Dictionary(zip(lesionClasses, lesion.probabilities)) { first, _ in first })
        }
    }
}
