import Foundation
import JobStore
import Testing
import TestSupport

/// Restarts a real PostgreSQL server under producers and claimers that keep going.
@Suite struct ServerRestartTests {
    @Test func queueSurvivesServerRestart() throws {
        let cluster = try TestDatabase.startCluster(named: "restart")
        defer {
            try? cluster.stop(mode: "immediate")
            try? FileManager.default.removeItem(at: cluster.dataDirectory)
        }
        let url = try TestDatabase.makeMigratedDatabase(on: cluster.url())
        let jobCount = 600
        let finished = Flag()
        let configuration = Connection.Configuration(conninfo: url, reconnectTimeout: .seconds(60))

        let restarter = Thread {
            Thread.sleep(forTimeInterval: 0.4)
            try! cluster.stop(mode: "fast")
            Thread.sleep(forTimeInterval: 0.5)
            try! cluster.start()
        }
        restarter.start()

        // Each connection's server process is read before and after the work. A new one shows
        // that the connection met the restart and was opened again.
        let reopened = Counter()
        @Sendable func backendProcess(_ queue: JobQueue) throws -> String? {
            try retryingOnConnectionLoss { try queue.connection.execute("SELECT pg_backend_pid()").scalar }
        }
        try runConcurrently(5) { index in
            let queue = JobQueue(connection: try Connection(configuration))
            let firstProcess = try backendProcess(queue)
            defer { if (try? backendProcess(queue)) != firstProcess { reopened.increment() } }
            if index == 0 {
                // Producer: idempotency keys make a retried enqueue safe when its commit was lost.
                for number in 0..<jobCount {
                    _ = try retryingOnConnectionLoss {
                        try queue.enqueue(NewJob(kind: "noop", idempotencyKey: "job-\(number)"))
                    }
                    if number % 20 == 0 { Thread.sleep(forTimeInterval: 0.02) }
                }
                return
            }
            // Claimers: a claim lost with the connection is recovered by the sweeper after its lease.
            let owner = "claimer-\(index)"
            while !finished.isSet {
                try retryingOnConnectionLoss { _ = try queue.requeueExpiredLeases() }
                let jobs = try retryingOnConnectionLoss { try queue.claim(owner: owner, limit: 5, lease: .milliseconds(700)) }
                for job in jobs {
                    try retryingOnConnectionLoss {
                        do {
                            try queue.complete(job: job.id, attempt: job.attempt, owner: owner)
                        } catch JobStoreError.staleAttempt {
                            // The lease expired during the outage; another attempt completes it.
                        }
                    }
                }
                let done = try retryingOnConnectionLoss {
                    try queue.connection.execute("SELECT count(*) FROM jobs WHERE state = 'succeeded'").scalar
                }
                if done == String(jobCount) { finished.set() }
                if jobs.isEmpty { Thread.sleep(forTimeInterval: 0.02) }
            }
        }

        let connection = try Connection(configuration)
        #expect(try connection.execute("SELECT count(*) FROM jobs").scalar == "\(jobCount)")
        #expect(try connection.execute("SELECT count(*) FROM jobs WHERE state = 'succeeded'").scalar == "\(jobCount)")
        #expect(try connection.execute("""
            SELECT count(*) FROM (SELECT job_id FROM job_events WHERE to_state = 'succeeded'
                                  GROUP BY job_id HAVING count(*) > 1) AS repeated
            """).scalar == "0")
        #expect(try connection.execute("SELECT count(DISTINCT job_id) FROM job_events WHERE to_state = 'succeeded'").scalar == "\(jobCount)")
        let log = try String(contentsOf: cluster.dataDirectory.appendingPathComponent("server.log"), encoding: .utf8)
        #expect(log.contains("database system is shut down"), "the server was never restarted")
        #expect(reopened.count == 5, "only \(reopened.count) of 5 connections met the restart")
    }

    /// A connection whose session the server ended while it was idle opens a new one for its next
    /// statement instead of failing it.
    @Test func idleConnectionReopensAfterSessionEnded() throws {
        let url = try TestDatabase.makeMigratedDatabase()
        let idle = try Connection(Connection.Configuration(conninfo: url, reconnectTimeout: .seconds(10)))
        let firstSession = try #require(try idle.execute("SELECT pg_backend_pid()").scalar)
        let administrator = try Connection(conninfo: url)
        #expect(try administrator.execute("SELECT pg_terminate_backend($1::int)", [firstSession]).scalar == "t")
        // The server sends its reason and closes the socket at once; give the message time to arrive.
        try waitUntil("the terminated session is still listed", timeout: .seconds(10)) {
            try administrator.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int", [firstSession]).scalar == "0"
        }
        Thread.sleep(forTimeInterval: 0.2)
        let secondSession = try #require(try idle.execute("SELECT pg_backend_pid()").scalar)
        #expect(secondSession != firstSession)
    }
}

/// Runs `body` again after connection errors, as a service's loop would.
func retryingOnConnectionLoss<T>(_ body: () throws -> T) throws -> T {
    while true {
        do {
            return try body()
        } catch let error as JobStoreError where error.isConnectionError {
            Thread.sleep(forTimeInterval: 0.05)
        }
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func increment() { lock.withLock { value += 1 } }
    var count: Int { lock.withLock { value } }
}

final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
