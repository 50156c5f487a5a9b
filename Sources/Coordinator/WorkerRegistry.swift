// The coordinator's view of the workers connected to it.
import Foundation
import Wire

/// One connected worker, as this coordinator sees it.
struct ConnectedWorker {
    /// The worker's ZeroMQ routing ID, which is also its lease owner name.
    let name: String
    /// The worker process's session ID, from its READY or HEARTBEAT; nil until one arrives.
    var session: String?
    /// Jobs the worker has granted this coordinator and not yet received (READY minus JOB).
    var credits = 0
    var capacity = 0
    var kinds: [String] = []
    var modelVersion = ""
    /// Attempts claimed for or sent to the worker and not yet finished.
    var inFlight: Set<JobAttempt> = []
    /// The attempts in flight whose inputs are still being read, so not yet sent. The worker's
    /// heartbeats renew their leases, as they do for the attempts the worker reports.
    var awaitingInputs: Set<JobAttempt> = []
    /// Attempts this coordinator sent ABANDON for that the worker's heartbeats still report:
    /// each is logged once, not at every heartbeat until the worker's handler stops.
    var abandoned: Set<JobAttempt> = []
    var lastHeard: ContinuousClock.Instant
    /// Set by BYE: the worker finishes what it has and takes nothing new.
    var leaving = false
}

/// The workers known to one coordinator, by name.
struct WorkerRegistry {
    private(set) var workers: [String: ConnectedWorker] = [:]

    subscript(name: String) -> ConnectedWorker? {
        get { workers[name] }
        set { workers[name] = newValue }
    }

    /// Removes and returns the workers silent since before `deadline`.
    mutating func removeSilent(since deadline: ContinuousClock.Instant) -> [ConnectedWorker] {
        let silent = workers.values.filter { $0.lastHeard < deadline }
        for worker in silent { workers[worker.name] = nil }
        return silent
    }

    /// Workers that may receive jobs now, most credits first. A worker that named no job kind
    /// has not sent READY yet and gets nothing.
    var dispatchable: [ConnectedWorker] {
        workers.values.filter { $0.credits > 0 && !$0.leaving && !$0.kinds.isEmpty }.sorted { $0.credits > $1.credits }
    }

    /// Returns the worker running `job`, if any.
    func holder(of job: Int64) -> ConnectedWorker? {
        workers.values.first { worker in worker.inFlight.contains { $0.job == job } }
    }

    var totalInFlight: Int { workers.values.reduce(0) { $0 + $1.inFlight.count } }
}
