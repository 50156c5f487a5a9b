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
