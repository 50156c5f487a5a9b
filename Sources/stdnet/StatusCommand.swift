// `stdnet status` and `stdnet cancel`: read and change job state through the coordinator.
import Foundation
import Wire

enum StatusCommand: Command {
    static let name = "status"
    static let summary = "show job counts per state, or the state of given jobs"
    static let usage = """
        usage: stdnet status [JOB...] [--study ID,...] [OPTIONS]

        Without arguments, the number of jobs in each state; with job IDs, each job's state and
        its last errors; with --study, each study's analysis, lesion count and the state of its
        patient's tracking.

          --study IDS         comma-separated study IDs
        \(clientUsage)
        """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        let studyText = try arguments.option("study")
        let client = try parseClient(&arguments)
        let ids = try arguments.positionals().map { text -> Int64 in
            guard let id = Int64(text) else { throw UsageError("job IDs are integers, got '\(text)'") }
            return id
        }
        if let studyText {
            let studies = try studyText.split(separator: ",").map { text -> Int64 in
                guard let id = Int64(text) else { throw UsageError("study IDs are integers, got '\(text)'") }
                return id
            }
            let reply = try client.request(.status(StatusRequest(request: UUID().uuidString, jobs: ids, studies: studies)))
            guard case .statusReply(let status) = reply, let found = status.studies else { throw ClientError("unexpected reply \(reply.name) to STATUS") }
            for study in studies {
                guard let state = found.first(where: { $0.study == study }) else {
                    print("study \(study): not found")
                    continue
                }
                let tracking = state.trackingPending ? "pending" : state.tracking
                print("study \(study): analysis \(state.analysis)\(state.analyzeJob.map { " (job \($0))" } ?? ""), \(state.lesions) lesion(s), tracking \(tracking)")
            }
            return found.count == studies.count ? 0 : 1
        }
        let reply = try client.request(.status(StatusRequest(request: UUID().uuidString, jobs: ids)))
        guard case .statusReply(let status) = reply else { throw ClientError("unexpected reply \(reply.name) to STATUS") }
        if ids.isEmpty {
            for state in ["queued", "running", "succeeded", "dead", "cancelled"] {
                print("\(state.padding(toLength: 10, withPad: " ", startingAt: 0)) \(status.counts[state] ?? 0)")
            }
            return 0
        }
        for id in ids {
            guard let job = status.jobs.first(where: { $0.id == id }) else {
                print("job \(id): not found")
                continue
            }
            print("job \(job.id): \(job.kind) \(job.state), attempt \(job.attempt)")
            for error in job.errors { print("  \(error)") }
        }
        return status.jobs.count == ids.count ? 0 : 1
    }
}

enum CancelCommand: Command {
    static let name = "cancel"
    static let summary = "cancel a queued or running job"
    static let usage = """
        usage: stdnet cancel JOB [OPTIONS]

        \(clientUsage)
        """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        let client = try parseClient(&arguments)
        let positionals = try arguments.positionals()
        guard positionals.count == 1, let id = Int64(positionals[0]) else { throw UsageError("expected one job ID") }
        let reply = try client.request(.cancel(CancelRequest(request: UUID().uuidString, job: id)))
        guard case .cancelReply(let result) = reply else { throw ClientError("unexpected reply \(reply.name) to CANCEL") }
        print(result.cancelled ? "job \(id) cancelled" : "job \(id) had already ended; nothing to cancel")
        return 0
    }
}
