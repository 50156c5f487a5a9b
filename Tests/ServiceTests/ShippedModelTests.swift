import Foundation
import Testing
import TestSupport

/// The weights under Models/ load and segment a held-out phantom study.
@Suite struct ShippedModelTests {
    struct Report: Decodable {
        struct Study: Decodable {
            let liverDice: Double
            let lesionDice: Double
        }
        let studies: [Study]
    }

    @Test func shippedWeightsSegmentHeldOutPhantom() throws {
        let report = FileManager.default.temporaryDirectory.appendingPathComponent("stdnet-shipped-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: report) }
        // Training never drew seed 1000: its phantom streams start at seeds 1, 801, 2401, 3001 and
        // 3201. Patient 1 was chosen before any result was seen.
        let evaluation = try ServiceProcess(command: [
            ServiceProcess.releaseExecutable, "evaluate", "--model", ServiceProcess.packageRoot.appendingPathComponent("Models/std-net").path,
            "--seed", "1000", "--patients", "1", "--json", report.path,
        ], label: "evaluate")
        #expect(evaluation.wait(timeout: .seconds(600)) == 0, "\(evaluation.output)")
        let study = try #require(try JSONDecoder().decode(Report.self, from: Data(contentsOf: report)).studies.first)
        // Bars that random or misloaded weights fall below. The shipped weights reach liver 0.89
        // and lesion 0.70 on this full-size study at 10 mm of motion (see Docs/model-card.md).
        #expect(study.liverDice >= 0.75, "liver Dice \(study.liverDice)")
        #expect(study.lesionDice >= 0.55, "lesion Dice \(study.lesionDice)")
    }
}
