// `stdnet submit`: enqueues jobs through the coordinator.
import Foundation
import Wire

enum SubmitCommand: Command {
    static let name = "submit"
    static let summary = "submit jobs to a coordinator (--noop COUNT for queue tests)"
    static let usage = """
        usage: stdnet submit --noop COUNT [--sleep-ms MS] [--wait] [OPTIONS]

          --noop COUNT        enqueue COUNT no-op jobs, which do nothing but report success
          --sleep-ms MS       each no-op job waits MS milliseconds before it succeeds (default 0)
          --wait              follow the jobs until every one has ended; exit status 1 if any did not succeed
        \(clientUsage)
        """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        guard let countText = try arguments.option("noop") else {
            throw UsageError("nothing to submit: give --noop COUNT")
        }
        guard let count = Int(countText), count >= 1 else { throw UsageError("--noop expects a positive count, got '\(countText)'") }
        let sleep = try arguments.integer("sleep-ms", default: 0)
        let wait = arguments.flag("wait")
        let client = try parseClient(&arguments)
        try arguments.finish()

        let payload = sleep > 0 ? "{\"sleepMilliseconds\": \(sleep)}" : "{}"
        let reply = try client.request(.submitNoop(SubmitNoop(request: UUID().uuidString, count: count, payload: payload)))
        guard case .submitted(let submitted) = reply else { throw ClientError("unexpected reply \(reply.name) to SUBMIT_NOOP") }
        let first = submitted.jobs.first ?? 0
        let last = submitted.jobs.last ?? 0
        print("submitted \(submitted.jobs.count) no-op job(s): IDs \(first)...\(last)")
        guard wait else { return 0 }
        return try waitForJobs(submitted.jobs, client: client)
    }

    /// Polls STATUS until every job has ended; prints a line when the counts change.
    static func waitForJobs(_ jobs: [Int64], client: CoordinatorClient) throws -> Int32 {
        var lastLine = ""
        while true {
            var ended: [JobStatus] = []
            for start in stride(from: 0, to: jobs.count, by: 5000) {
                let reply = try client.request(.status(StatusRequest(request: UUID().uuidString, jobs: Array(jobs[start..<min(start + 5000, jobs.count)]))))
                guard case .statusReply(let status) = reply else { throw ClientError("unexpected reply \(reply.name) to STATUS") }
                ended += status.jobs.filter { ["succeeded", "dead", "cancelled"].contains($0.state) }
            }
            let succeeded = ended.filter { $0.state == "succeeded" }.count
            let line = "\(succeeded) succeeded, \(ended.count - succeeded) failed or cancelled, \(jobs.count - ended.count) pending"
            if line != lastLine {
                print(line)
                lastLine = line
            }
            if ended.count == jobs.count { return succeeded == jobs.count ? 0 : 1 }
            Thread.sleep(forTimeInterval: 0.2)
        }
    }
}
