// A coordinator-and-workers deployment on loopback for the service tests: a fresh database,
// real `stdnet` processes and a client that speaks the wire protocol.
import Foundation
import JobStore
import TestSupport
import Wire

final class Deployment {
    let databaseURL: String
    let database: Connection
    let workerEndpoint: String
    let clientEndpoint: String
    var coordinators: [ServiceProcess] = []
    var workers: [ServiceProcess] = []
    let lease: String
    let heartbeat: String

    /// Creates a migrated database and chooses loopback ports; starts nothing yet.
    init(lease: String = "3", heartbeat: String = "0.2") throws {
        databaseURL = try TestDatabase.makeMigratedDatabase()
        database = try Connection(conninfo: databaseURL)
        workerEndpoint = "tcp://127.0.0.1:\(freePort())"
        clientEndpoint = "tcp://127.0.0.1:\(freePort())"
        self.lease = lease
        self.heartbeat = heartbeat
    }

    deinit {
        for process in workers + coordinators { process.stop() }
    }

    @discardableResult
    func startCoordinator(workerEndpoint: String? = nil, clientEndpoint: String? = nil, name: String = "coordinator",
                          extraArguments: [String] = []) throws -> ServiceProcess {
        let process = try ServiceProcess([
            "coordinator", "--database", databaseURL,
            "--worker-endpoint", workerEndpoint ?? self.workerEndpoint, "--client-endpoint", clientEndpoint ?? self.clientEndpoint,
            "--lease", lease, "--heartbeat", heartbeat, "--name", name, "--shutdown-timeout", "5",
        ] + extraArguments, label: name)
        coordinators.append(process)
        return process
    }

    @discardableResult
    func startWorker(name: String, concurrency: Int = 2, coordinators endpoints: [String]? = nil) throws -> ServiceProcess {
        let process = try ServiceProcess([
            "worker", "--no-model", "--coordinator", (endpoints ?? [workerEndpoint]).joined(separator: ","), "--name", name,
            "--concurrency", String(concurrency), "--heartbeat", heartbeat, "--shutdown-timeout", "5",
        ], label: name)
        workers.append(process)
        return process
    }

    /// Submits no-op jobs through the client endpoint and returns their IDs.
    func submit(_ count: Int, payload: String = "{}", endpoint: String? = nil) throws -> [Int64] {
        let reply = try request(.submitNoop(SubmitNoop(request: UUID().uuidString, count: count, payload: payload)), endpoint: endpoint)
        guard case .submitted(let submitted) = reply else { throw TestFailure("unexpected reply \(reply)") }
        return submitted.jobs
    }

    /// Sends one client request and returns the reply, retrying while the coordinator starts.
    func request(_ message: Message, endpoint: String? = nil, timeout: Duration = .seconds(20)) throws -> Message {
        let socket = try Socket(.dealer)
        try socket.connect(endpoint ?? clientEndpoint)
        guard socket.send(Envelope(message).encode()) else { throw TestFailure("request not queued") }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            _ = try poll([.socket(socket)], timeout: .milliseconds(100))
            if let frames = try socket.receive() { return try Envelope.decode(frames).message }
        }
        throw TestFailure("no reply from the coordinator at \(endpoint ?? clientEndpoint) within \(timeout)")
    }

    /// The number of jobs in `state`.
    func count(_ state: String) throws -> Int {
        Int(try database.execute("SELECT count(*) FROM jobs WHERE state = $1::job_state", [state]).scalar ?? "0") ?? 0
    }

    func value(_ sql: String, _ parameters: [(any SQLParameter)?] = []) throws -> String? {
        try database.execute(sql, parameters).scalar
    }

    /// Waits until every job has ended, then returns the count per final state.
    func waitForAllJobsToEnd(timeout: Duration = .seconds(120)) throws {
        try waitUntil("jobs still queued or running; coordinator log:\n\(coordinators.last?.output.suffix(2000) ?? "")", timeout: timeout) {
            try value("SELECT count(*) FROM jobs WHERE state IN ('queued', 'running')") == "0"
        }
    }

    /// Jobs whose event history is not exactly one success after claims, retries and lease expiries.
    func jobsWithInconsistentEvents() throws -> Int {
        Int(try value("""
            SELECT count(*) FROM jobs j WHERE
                (SELECT count(*) FROM job_events e WHERE e.job_id = j.id AND e.to_state = 'succeeded') <> 1
                OR (SELECT count(*) FROM job_events e WHERE e.job_id = j.id AND e.to_state = 'running') <> j.attempt
                OR (SELECT count(DISTINCT attempt) FROM job_events e WHERE e.job_id = j.id AND e.to_state = 'running') <> j.attempt
            """) ?? "-1")!
    }
}
