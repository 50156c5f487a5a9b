// `stdnet history`: a patient's studies and lesions, read through the coordinator.
import Foundation
import Wire

enum HistoryCommand: Command {
    static let name = "history"
    static let summary = "show a patient's studies and lesions (every read is audited)"
    static let usage = """
        usage: stdnet history PATIENT_ID [--user NAME] [--json] [OPTIONS]

        Lists the patient's studies, oldest first, with the state of each analysis and every lesion
        found: size, LI-RADS category and track (once tracking has run). The coordinator writes each
        read to the audit log with the user named.

          --user NAME         who asks, for the audit log (env STDNET_USER, then USER, then the account name)
          --json              print the reply as JSON
        \(clientUsage)
        """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        let environment = ProcessInfo.processInfo.environment
        // The account name is the last resort, for shells that set no USER.
        let account = getpwuid(getuid()).map { String(cString: $0.pointee.pw_name) }
        let user = try arguments.option("user", environment: "STDNET_USER") ?? environment["USER"].flatMap { $0.isEmpty ? nil : $0 } ?? account ?? ""
        guard !user.isEmpty else { throw UsageError("name the user for the audit log with --user or STDNET_USER") }
        let json = arguments.flag("json")
        let client = try parseClient(&arguments)
        let positionals = try arguments.positionals()
        guard positionals.count == 1 else { throw UsageError("expected one patient ID") }

        let reply = try client.request(.history(HistoryRequest(request: UUID().uuidString, patientKey: positionals[0], user: user)))
        guard case .historyReply(let history) = reply else { throw ClientError("unexpected reply \(reply.name) to HISTORY") }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(history.studies), as: UTF8.self))
            return 0
        }
        print("study  date        analysis   lesion  track  volume mL  axial mm  perp. mm  LI-RADS")
        for study in history.studies {
            let head = "\(String(study.study).padding(toLength: 6, withPad: " ", startingAt: 0)) \((study.studyDate ?? "-").padding(toLength: 11, withPad: " ", startingAt: 0)) \(study.analysis.padding(toLength: 10, withPad: " ", startingAt: 0))"
            if study.lesions.isEmpty { print(head) }
            for lesion in study.lesions {
                let track = (lesion.track.map(String.init) ?? "-")
                let padded = String(repeating: " ", count: max(0, 5 - track.count)) + track
                let sizes = String(format: "%9.2f  %8.1f  %8.1f", lesion.volumeMillilitres, lesion.longestAxialMillimetres, lesion.perpendicularMillimetres)
                print(head + String(format: " %6d", lesion.lesionIndex + 1) + "  \(padded)  \(sizes)  \(lesion.category)")
            }
        }
        return 0
    }
}
