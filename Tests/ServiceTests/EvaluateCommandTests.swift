import Foundation
import Testing
import TestSupport

/// `stdnet evaluate` applies the post-processing its options ask for, and its JSON records which.
@Suite struct EvaluateCommandTests {
    struct Report: Decodable {
        struct Settings: Decodable {
            let lesionThreshold: Double?
            let lesionGrowThreshold: Double?
            let window: [Int]
        }
        let settings: Settings
    }

    /// Writes a checkpoint of one training step, a small model at a coarse spacing (6 x 6 x 10 mm)
    /// that evaluates quickly, into a new folder, and returns the folder.
    static func trainOneStep() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("stdnet-one-step-\(UUID().uuidString)")
        let train = try ServiceProcess(["train", "--out", folder.path, "--steps", "1", "--window", "8,16,16", "--spacing", "6,6,10"],
                                       label: "train")
        #expect(train.wait(timeout: .seconds(120)) == 0, "\(train.output)")
        return folder
    }

    /// The table on screen has a row per study with the scores of the JSON report, precision,
    /// recall and F1 worked out here from its counts.
    @Test func studyRowsMatchReport() throws {
        struct Counts: Decodable {
            let truePositives: Int
            let falsePositives: Int
            let falseNegatives: Int
            var scores: String {
                let precision = truePositives + falsePositives == 0 ? 1 : Double(truePositives) / Double(truePositives + falsePositives)
                let recall = truePositives + falseNegatives == 0 ? 1 : Double(truePositives) / Double(truePositives + falseNegatives)
                let f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
                return String(format: "%.3f / %.3f / %.3f", precision, recall, f1)
            }
        }
        struct Study: Decodable {
            let patient: Int
            let liverDice: Double
            let lesionDice: Double
            let lesionHausdorff95: Double?
            let detection: Counts
            let detectionAtLeast10mm: Counts
        }
        struct Studies: Decodable { let studies: [Study] }

        let folder = try Self.trainOneStep()
        defer { try? FileManager.default.removeItem(at: folder) }
        let json = folder.appendingPathComponent("report.json")
        let evaluation = try ServiceProcess(["evaluate", "--model", folder.path, "--patients", "1", "--json", json.path], label: "evaluate-rows")
        #expect(evaluation.wait(timeout: .seconds(300)) == 0, "\(evaluation.output)")
        let studies = try JSONDecoder().decode(Studies.self, from: Data(contentsOf: json)).studies
        #expect(studies.map(\.patient) == [1])
        for study in studies {
            let hausdorff = study.lesionHausdorff95.map { String(format: "%.1f", $0) } ?? "n/a"
            let row = String(format: "| %d | %.3f | %.3f | ", study.patient, study.liverDice, study.lesionDice)
                + "\(hausdorff) | \(study.detection.scores) | \(study.detectionAtLeast10mm.scores) |\n"
            #expect(evaluation.output.contains(row), "\(row) in \(evaluation.output)")
        }
    }

    /// `--lesion-grow-threshold none` switches off a grow threshold that config.json sets.
    @Test func growThresholdOfConfigurationSwitchedOff() throws {
        let folder = try Self.trainOneStep()
        defer { try? FileManager.default.removeItem(at: folder) }
        let configurationURL = folder.appendingPathComponent("config.json")
        var configuration = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: configurationURL)) as? [String: Any])
        configuration["lesionThreshold"] = 0.9
        configuration["lesionGrowThreshold"] = 0.5
        try JSONSerialization.data(withJSONObject: configuration).write(to: configurationURL)

        func evaluatedSettings(_ options: [String]) throws -> Report.Settings {
            let json = folder.appendingPathComponent("report.json")
            let evaluation = try ServiceProcess(
                ["evaluate", "--model", folder.path, "--patients", "1", "--json", json.path] + options,
                label: "evaluate")
            #expect(evaluation.wait(timeout: .seconds(300)) == 0, "\(evaluation.output)")
            return try JSONDecoder().decode(Report.self, from: Data(contentsOf: json)).settings
        }
        let configured = try evaluatedSettings([])
        // Without --window, the window the model was trained on, stored in config.json.
        #expect(configured.window == [8, 16, 16])
        #expect(configured.lesionThreshold == 0.9)
        #expect(configured.lesionGrowThreshold == 0.5)
        let switchedOff = try evaluatedSettings(["--lesion-grow-threshold", "none"])
        #expect(switchedOff.lesionThreshold == 0.9)
        #expect(switchedOff.lesionGrowThreshold == nil)
    }
}
