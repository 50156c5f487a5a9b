// `stdnet status`, `stdnet cancel` and `stdnet retry`: read and change job state through the
// coordinator.
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
        \(clientUsage())
        """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        let studyText = try arguments.option("study")
        let client = try parseClient(&arguments)
        let ids = try arguments.positionals().map { text -> Int64 in
            guard let id = Int64(text), id > 0 else { throw UsageError("job IDs are positive integers, got '\(text)'") }
            return id
        }
        if let studyText, !ids.isEmpty {
            let jobs = ids.map(String.init).joined(separator: " ")
            throw UsageError("give job IDs or --study, not both: \(jobs) would be read as jobs. Several studies go comma-separated, as in --study 21,22,23")
        }
        if let studyText {
            // Empty items are kept, so that "" and "7,,8" are rejected rather than read as fewer studies.
            let studies = try studyText.split(separator: ",", omittingEmptySubsequences: false).map { text -> Int64 in
                guard let id = Int64(text), id > 0 else {
                    throw UsageError("--study expects comma-separated study IDs (positive integers), got '\(studyText)'")
                }
                return id
            }
            let found = try client.studyStatuses(studies).studies
            let statesByStudy = Dictionary(found.map { ($0.study, $0) }, uniquingKeysWith: { first, _ in first })
            for study in studies {
                guard let state = statesByStudy[study] else {
                    print("study \(study): not found")
                    continue
                }
                print("study \(study): \(state.summary(namingJob: true))")
            }
            return studies.allSatisfy { statesByStudy[$0] != nil } ? 0 : 1
        }
        if ids.isEmpty {
            let status = try client.status(StatusRequest(request: UUID().uuidString))
            for state in ["queued", "running", "succeeded", "dead", "cancelled"] {
                print("\(state.padding(toLength: 10, withPad: " ", startingAt: 0)) \(status.counts[state] ?? 0)")
            }
            return 0
        }
        let jobs = try client.jobStatuses(ids)
        let jobsByID = Dictionary(jobs.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for id in ids {
            guard let job = jobsByID[id] else {
                print("job \(id): not found")
                continue
            }
            print("job \(job.id): \(job.kind) \(job.state), attempt \(job.attempt)")
            for error in job.errors { print("  \(error)") }
        }
        return ids.allSatisfy { jobsByID[$0] != nil } ? 0 : 1
    }
}

enum CancelCommand: Command {
    static let name = "cancel"
    static let summary = "cancel a queued or running job"
    static let usage = """
        usage: stdnet cancel JOB [OPTIONS]

        Cancels a queued or running job; the worker running it is told to stop. Exit status 1
        when the job had already ended. 'stdnet retry JOB' queues it again.

        \(clientUsage())
        """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        let client = try parseClient(&arguments)
        let id = try jobID(from: arguments.positionals())
        let reply = try client.request(.cancel(CancelRequest(request: UUID().uuidString, job: id)))
        guard case .cancelReply(let result) = reply else { throw ClientError("unexpected reply \(reply.name) to CANCEL") }
        if result.cancelled {
            print("job \(id) cancelled")
            return 0
        }
        print("job \(id)\(parenthesizedState(of: id, client: client)) had already ended; nothing to cancel")
        return 1
    }
}

enum RetryCommand: Command {
    static let name = "retry"
    static let summary = "queue a dead or cancelled job again"
    static let usage = """
        usage: stdnet retry JOB [OPTIONS]

        Queues the job again with as many attempts as it had at first, for example an analysis
        that was cancelled, or that died of a problem that has been fixed since. Its earlier
        attempts and their errors stay in its history.

        \(clientUsage())
        """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        let client = try parseClient(&arguments)
        let id = try jobID(from: arguments.positionals())
        let reply = try client.request(.retry(RetryRequest(request: UUID().uuidString, job: id)))
        guard case .retryReply(let result) = reply else { throw ClientError("unexpected reply \(reply.name) to RETRY") }
        if result.retried {
            print("job \(id) queued again")
            return 0
        }
        print("job \(id)\(parenthesizedState(of: id, client: client)) is not dead or cancelled; nothing to retry")
        return 1
    }
}

/// Returns the one job ID among the command's arguments, a positive integer.
private func jobID(from positionals: [String]) throws -> Int64 {
    guard positionals.count == 1, let id = Int64(positionals[0]), id > 0 else {
        throw UsageError("expected one job ID (a positive integer)" + (positionals.isEmpty ? "" : ", got '\(positionals.joined(separator: " "))'"))
    }
    return id
}

/// Returns the state of job `id` as " (state)" for a message, read after CANCEL or RETRY changed
/// nothing, or nothing when that STATUS request fails or the job is gone.
private func parenthesizedState(of id: Int64, client: CoordinatorClient) -> String {
    guard let job = try? client.jobStatuses([id]).first else { return "" }
    return " (\(job.state))"
}
