// STATUS for any number of jobs or studies, split into requests the coordinator accepts.
import Foundation
import Wire

extension CoordinatorClient {
    /// Jobs per STATUS request. The coordinator takes up to `StatusRequest.maximumJobs`, but a
    /// reply with the last five errors of each job must also fit the 4 MiB frame the client reads.
    static let jobsPerStatusRequest = 5_000

    /// Returns the state of each job in `ids` that exists, in as many requests as needed, each
    /// waiting `replyTimeout` (default: the client's) for its reply.
    func jobStatuses(_ ids: [Int64], replyTimeout: Duration? = nil) throws -> [JobStatus] {
        var statuses: [JobStatus] = []
        for start in stride(from: 0, to: ids.count, by: Self.jobsPerStatusRequest) {
            let chunk = Array(ids[start..<min(start + Self.jobsPerStatusRequest, ids.count)])
            statuses += try status(StatusRequest(request: UUID().uuidString, jobs: chunk), replyTimeout: replyTimeout).jobs
        }
        return statuses
    }

    /// Returns the state of each study in `ids` that exists, and the connected workers per job
    /// kind from the last reply, in as many requests as needed, each waiting `replyTimeout`
    /// (default: the client's) for its reply.
    func studyStatuses(_ ids: [Int64], replyTimeout: Duration? = nil) throws -> (studies: [StudyStatus], workersByKind: [String: Int]?) {
        var studies: [StudyStatus] = []
        var workersByKind: [String: Int]?
        for start in stride(from: 0, to: max(ids.count, 1), by: StatusRequest.maximumStudies) {
            let chunk = Array(ids[start..<min(start + StatusRequest.maximumStudies, ids.count)])
            let reply = try status(StatusRequest(request: UUID().uuidString, studies: chunk), replyTimeout: replyTimeout)
            guard let states = reply.studies else { throw ClientError("the STATUS reply lists no studies; is the coordinator older than this client?") }
            studies += states
            workersByKind = reply.workersByKind
        }
        return (studies, workersByKind)
    }

    /// Sends one STATUS request and returns its reply.
    func status(_ request: StatusRequest, replyTimeout: Duration? = nil) throws -> StatusReply {
        let reply = try self.request(.status(request), timeout: replyTimeout)
        guard case .statusReply(let status) = reply else { throw ClientError("unexpected reply \(reply.name) to STATUS") }
        return status
    }
}

extension StudyStatus {
    /// Describes the study's analysis and, once that has succeeded, its lesion count and the
    /// patient's tracking state. Before, there is no lesion count, and the tracking state would
    /// be that of an earlier study. `namingJob` adds the analyze job's ID.
    func summary(namingJob: Bool = false) -> String {
        let analysis = "analysis \(self.analysis)" + (namingJob ? analyzeJob.map { " (job \($0))" } ?? "" : "")
        guard self.analysis == "succeeded" else { return analysis }
        return analysis + ", \(lesions) lesion(s), tracking \(trackingPending ? "pending" : tracking)"
    }
}
