// `stdnet history`: a patient's lesion tracks over time and the response per study, read
// through the coordinator, as a table, JSON, CSV or an SVG plot.
import Foundation
import Lesions
import Reports
import Wire

enum HistoryCommand: Command {
    static let name = "history"
    static let summary = "show a patient's lesion tracks and responses (every read is audited)"
    static let usage = """
        usage: stdnet history PATIENT_ID [--user NAME] [--json | --csv] [--plot FILE.svg] [OPTIONS]

        Prints one table per lesion track: the track's lesion at each study (diameters, volume,
        LI-RADS category, the model's most likely class), then the RECIST 1.1 and mRECIST response
        of every follow-up study. The coordinator writes each read to the audit log with the user
        named. Research software, not for clinical use.

          --user NAME         who asks, for the audit log (env STDNET_USER, then USER, then the account name)
          --json              print the reply as JSON instead of tables
          --csv               print one row per lesion and study instead of tables
          --plot FILE.svg     also write the longest axial diameter of every track over time
        \(clientUsage())
        """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        let user = try auditUser(&arguments)
        let json = try arguments.flag("json")
        let csv = try arguments.flag("csv")
        let plot = try arguments.option("plot")
        if let plot { try requireFolder(ofFile: plot, option: "--plot") }
        let client = try parseClient(&arguments)
        let positionals = try arguments.positionals()
        guard positionals.count == 1 else { throw UsageError("expected one patient ID, got \(positionals.count) argument(s)") }
        guard !(json && csv) else { throw UsageError("choose one of --json and --csv") }

        // DICOM pads a Patient ID with spaces that are not part of it, and studies are stored
        // without them.
        let patientKey = positionals[0].trimmingCharacters(in: .whitespaces)
        guard !patientKey.isEmpty else { throw UsageError("the patient ID is empty; give the Patient ID of the studies") }
        let reply = try client.request(.history(HistoryRequest(request: UUID().uuidString, patientKey: patientKey, user: user)))
        guard case .historyReply(let history) = reply else { throw ClientError("unexpected reply \(reply.name) to HISTORY") }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(history), as: UTF8.self))
        } else if csv {
            print(historyCSV(history), terminator: "")
        } else {
            print(historyTables(history), terminator: "")
        }
        if let plot {
            try writePlot(history, to: plot)
            if !json && !csv { print("plot written to \(plot)") }
        }
        return 0
    }

    /// Writes the longest axial diameter of every track over the dated studies as SVG.
    static func writePlot(_ history: HistoryReply, to path: String) throws {
        let dateFormat = Date.ISO8601FormatStyle().year().month().day()
        var sizes: [Int: [SizeMeasurement]] = [:]
        for study in history.studies {
            guard let date = study.studyDate.flatMap({ try? dateFormat.parse($0) }) else { continue }
            for lesion in study.lesions {
                guard let track = lesion.track else { continue }
                sizes[track, default: []].append(SizeMeasurement(date: date, diameterMillimetres: lesion.longestAxialMillimetres))
            }
        }
        let tracks = sizes.keys.sorted().map { TrackHistory(track: $0, sizes: sizes[$0]!) }
        let svg = try historyPlotSVG(tracks, title: "Longest axial diameter per lesion track")
        do {
            try Data(svg.utf8).write(to: URL(fileURLWithPath: path))
        } catch {
            throw ClientError("could not write the plot to \(path): \(error.localizedDescription)")
        }
    }
}
