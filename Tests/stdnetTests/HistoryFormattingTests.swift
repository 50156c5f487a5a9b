@testable import stdnet
import Testing
import Wire

/// Tests of the table and CSV forms of a patient's history, on replies written out by hand.
@Suite struct HistoryFormattingTests {
    static func study(_ id: Int64, date: String, phases: [String], responses: [ResponseHistoryEntry] = []) -> StudyHistoryEntry {
        StudyHistoryEntry(study: id, studyDate: date, modality: "CT", phases: phases, analysis: "succeeded",
                          lesions: [], responses: responses, events: [])
    }

    static let response = ResponseHistoryEntry(criteria: "RECIST 1.1", category: "PR", sumMillimetres: 21.8,
                                               baselineSumMillimetres: 48.4, nadirSumMillimetres: 48.4, newLesionTracks: [])

    @Test func responseWithOtherPhasesThanTheBaselineIsMarked() {
        let history = HistoryReply(request: "r", studies: [
            Self.study(1, date: "2026-01-05", phases: ["NC", "AP", "PV", "DP"]),
            Self.study(2, date: "2026-04-05", phases: ["NC", "AP", "PV", "DP"], responses: [Self.response]),
            Self.study(3, date: "2026-07-05", phases: ["NC", "PV"], responses: [Self.response]),
        ], tracking: "succeeded")
        let lines = historyTables(history).split(separator: "\n").map(String.init)
        let responseLines = lines.filter { $0.contains("PR 21.8 mm") }
        #expect(responseLines.count == 2)
        #expect(responseLines.first?.hasPrefix("  2026-04-05     2  PR") == true, "\(responseLines)")
        #expect(responseLines.last?.hasPrefix("  2026-07-05     3† PR") == true, "\(responseLines)")
        #expect(lines.contains("  study 3 of 2026-07-05: CT, phases NC PV (no AP, DP), analysis succeeded, no lesion found"))
        #expect(lines.contains { $0.hasPrefix("† other phases than the baseline") })
    }

    @Test func csvNamesModalityAndPhases() {
        let history = HistoryReply(request: "r", studies: [Self.study(3, date: "2026-07-05", phases: ["NC", "PV"])], tracking: "none")
        let rows = historyCSV(history).split(separator: "\n").map(String.init)
        #expect(rows.first?.hasSuffix(",recist,mrecist,modality,phases") == true, "\(rows)")
        #expect(rows.last == "3,2026-07-05,succeeded,,,,,,,,,,,,,,CT,NC PV")
        // Every row has as many fields as the header.
        #expect(Set(rows.map { $0.split(separator: ",", omittingEmptySubsequences: false).count }).count == 1)
    }
}
