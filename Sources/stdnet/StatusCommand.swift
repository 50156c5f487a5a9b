// `stdnet status` and `stdnet cancel`: read and change job state through the coordinator.
import Foundation
import Wire

enum StatusCommand: Command {
    static let name = "status"
    static let summary = "show job counts per state, or the state of given jobs"
    static let usage = """
        usage: stdnet status [JOB...] [OPTIONS]

        \(clientUsage)
        """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        let client = try parseClient(&arguments)
        let ids = try arguments.positionals().map { text -> Int64 in
            guard let id = Int64(text) else { throw UsageError("job IDs are integers, got '\(text)'") }
            return id
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
