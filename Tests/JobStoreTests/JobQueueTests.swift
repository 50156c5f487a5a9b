import Foundation
import JobStore
import Testing
import TestSupport

@Suite struct JobQueueTests {
    @Test func concurrentClaimersCompleteEachJobOnce() throws {
        let url = try TestDatabase.makeMigratedDatabase()
        let jobCount = 5000
        let producer = JobQueue(connection: try Connection(conninfo: url))
        for start in stride(from: 0, to: jobCount, by: 1000) {
            try producer.enqueue(batch: (start..<start + 1000).map { NewJob(kind: "noop", payload: "{\"n\": \($0)}") })
        }

        let completions = ClaimLog()
        try runConcurrently(8) { claimer in
            let queue = JobQueue(connection: try Connection(conninfo: url))
            let owner = "claimer-\(claimer)"
            while true {
                let jobs = try queue.claim(owner: owner, limit: 10, lease: .seconds(60))
                if jobs.isEmpty { break }
                for job in jobs {
                    completions.record(job.id)
                    try queue.complete(job: job.id, attempt: job.attempt, owner: owner)
                }
            }
        }

        #expect(completions.count == jobCount)
        #expect(completions.distinctCount == jobCount)
        let connection = producer.connection
        #expect(try connection.execute("SELECT count(*) FROM jobs WHERE state = 'succeeded' AND attempt = 1").scalar == "\(jobCount)")
        // Every job went enqueued -> claimed -> completed, with no other event.
        let history = try connection.execute("""
            SELECT count(*) FROM (
                SELECT job_id, string_agg(coalesce(from_state::text, '-') || '>' || to_state, ' ' ORDER BY id) AS path
                FROM job_events GROUP BY job_id) AS paths
            WHERE path = '->queued queued>running running>succeeded'
            """)
        #expect(history.scalar == "\(jobCount)")
    }

    @Test func expiredLeaseRequeuesAndFencesOldAttempt() throws {
        let queue = JobQueue(connection: try Connection(conninfo: try TestDatabase.makeMigratedDatabase()))
        let id = try queue.enqueue(NewJob(kind: "noop")).id
        let first = try #require(try queue.claim(owner: "worker-a", lease: .milliseconds(200)).first)
        #expect(first.attempt == 1)
        #expect(try queue.requeueExpiredLeases().isEmpty)

        Thread.sleep(forTimeInterval: 0.3)
        #expect(try queue.requeueExpiredLeases() == [id])
        #expect(try queue.job(id)?.state == .queued)
        #expect(try queue.job(id)?.errors.first?.error.contains("lease expired") == true)

        #expect(throws: JobStoreError.self) {
            try queue.complete(job: id, attempt: 1, owner: "worker-a")
        }
        let second = try #require(try queue.claim(owner: "worker-b", lease: .seconds(60)).first)
        #expect(second.attempt == 2)
        #expect(throws: JobStoreError.self) {
            try queue.complete(job: id, attempt: 1, owner: "worker-a")
        }
        try queue.complete(job: id, attempt: 2, owner: "worker-b", result: "{\"ok\": true}")
        #expect(try queue.job(id)?.state == .succeeded)
        // A repeated completion by the attempt that succeeded is accepted and changes nothing.
        try queue.complete(job: id, attempt: 2, owner: "worker-b", result: "{\"ok\": false}")
        #expect(try queue.job(id)?.result == "{\"ok\": true}")
    }

    @Test func heartbeatKeepsLease() throws {
        let queue = JobQueue(connection: try Connection(conninfo: try TestDatabase.makeMigratedDatabase()))
        let id = try queue.enqueue(NewJob(kind: "noop")).id
        let job = try #require(try queue.claim(owner: "worker-a", lease: .milliseconds(300)).first)

        for _ in 0..<6 {
            Thread.sleep(forTimeInterval: 0.15)
            let held = try queue.heartbeat(owner: "worker-a", attempts: [(job.id, job.attempt)], lease: .milliseconds(300))
            #expect(held == [id])
            #expect(try queue.requeueExpiredLeases().isEmpty)
        }
        // A heartbeat from another owner extends nothing.
        #expect(try queue.heartbeat(owner: "worker-b", attempts: [(job.id, job.attempt)], lease: .seconds(5)).isEmpty)
        try queue.complete(job: id, attempt: job.attempt, owner: "worker-a")
        #expect(try queue.job(id)?.attempt == 1)
    }

    /// attempted_at is the moment of the claim, not the start of the transaction around it, so
    /// it orders claims and times the queue wait even when a claim waits inside a transaction.
    @Test func attemptedAtIsClaimTime() throws {
        let connection = try Connection(conninfo: try TestDatabase.makeMigratedDatabase())
        let queue = JobQueue(connection: connection)
        let id = try queue.enqueue(NewJob(kind: "noop")).id
        try connection.transaction {
            try connection.execute("SELECT pg_sleep(0.3)")
            _ = try #require(try queue.claim(owner: "worker", lease: .seconds(60)).first)
        }
        let wait = try connection.execute("SELECT extract(epoch FROM attempted_at - created_at) >= 0.3 FROM jobs WHERE id = $1", [id])
        #expect(wait.scalar == "t")
    }

    @Test func retryDelaysGrowThenDead() throws {
        let connection = try Connection(conninfo: try TestDatabase.makeMigratedDatabase())
        let policy = RetryPolicy(base: .milliseconds(40), maximum: .seconds(10))
        let queue = JobQueue(connection: connection, retryPolicy: policy)
        let id = try queue.enqueue(NewJob(kind: "noop", maxAttempts: 4)).id

        var delays: [Double] = []
        for attempt in 1...4 {
            var claimed: [ClaimedJob] = []
            while claimed.isEmpty {
                claimed = try queue.claim(owner: "worker", lease: .seconds(60))
                if claimed.isEmpty { Thread.sleep(forTimeInterval: 0.01) }
            }
            #expect(claimed[0].attempt == attempt)
            let outcome = try queue.fail(job: id, attempt: attempt, owner: "worker", error: "failure \(attempt)", retryable: true)
            if attempt < 4 {
                guard case .retryScheduled = outcome else {
                    Issue.record("attempt \(attempt) should be retried, got \(outcome)")
                    return
                }
                let delay = try connection.execute("""
                    SELECT extract(epoch FROM run_after - (errors -> -1 ->> 'at')::timestamptz) FROM jobs WHERE id = $1
                    """, [id]).scalar.flatMap(Double.init)
                delays.append(try #require(delay))
            } else {
                #expect(outcome == .dead)
            }
        }

        // Attempt n waits between half and all of 40 ms * 2^(n-1).
        for (index, delay) in delays.enumerated() {
            let ceiling = 0.040 * Double(1 << index)
            #expect(delay >= ceiling / 2 - 0.002, "delay after attempt \(index + 1) was \(delay) s")
            #expect(delay <= ceiling + 0.002, "delay after attempt \(index + 1) was \(delay) s")
        }
        #expect(delays == delays.sorted())
        let row = try #require(try queue.job(id))
        #expect(row.state == .dead)
        #expect(row.errors.map(\.attempt) == [1, 2, 3, 4])
        #expect(row.errors.map(\.error) == ["failure 1", "failure 2", "failure 3", "failure 4"])
        #expect(row.finalizedAt != nil)
    }

    @Test func nonRetryableFailureIsDead() throws {
        let queue = JobQueue(connection: try Connection(conninfo: try TestDatabase.makeMigratedDatabase()))
        let id = try queue.enqueue(NewJob(kind: "noop", maxAttempts: 5)).id
        let job = try #require(try queue.claim(owner: "worker", lease: .seconds(60)).first)
        #expect(try queue.fail(job: id, attempt: job.attempt, owner: "worker", error: "corrupt input", retryable: false) == .dead)
        #expect(try queue.job(id)?.errors.count == 1)
        #expect(throws: JobStoreError.self) {
            try queue.fail(job: id, attempt: job.attempt, owner: "worker", error: "again", retryable: true)
        }
    }

    @Test func concurrentDuplicateEnqueuesMakeOneJob() throws {
        let url = try TestDatabase.makeMigratedDatabase()
        let keys = (0..<20).map { "analyze:1.2.826.0.1.3680043.9.\($0)" }
        let results = ResultsBox()
        try runConcurrently(8) { submitter in
            let queue = JobQueue(connection: try Connection(conninfo: url))
            for key in keys.shuffled() {
                let result = try queue.enqueue(NewJob(kind: "analyze", idempotencyKey: key))
                results.record(key: key, result: result, submitter: submitter)
            }
        }

        let connection = try Connection(conninfo: url)
        #expect(try connection.execute("SELECT count(*) FROM jobs").scalar == "20")
        #expect(try connection.execute("SELECT count(*) FROM job_events").scalar == "20")
        for key in keys {
            let outcomes = results.outcomes(for: key)
            #expect(outcomes.count == 8)
            #expect(Set(outcomes.map(\.id)).count == 1, "key \(key) mapped to several jobs")
            #expect(outcomes.filter(\.inserted).count == 1)
        }
    }

    @Test func rolledBackTransactionEnqueuesNothing() throws {
        let connection = try Connection(conninfo: try TestDatabase.makeMigratedDatabase())
        let queue = JobQueue(connection: connection)
        struct Abort: Error {}
        #expect(throws: Abort.self) {
            try connection.transaction {
                try connection.execute("INSERT INTO patients (patient_key) VALUES ($1)", ["P-1"])
                try queue.enqueue(NewJob(kind: "analyze"))
                throw Abort()
            }
        }
        #expect(try connection.execute("SELECT count(*) FROM jobs").scalar == "0")
        #expect(try connection.execute("SELECT count(*) FROM patients").scalar == "0")
    }

    @Test func cancelStopsQueuedAndRunningJobs() throws {
        let queue = JobQueue(connection: try Connection(conninfo: try TestDatabase.makeMigratedDatabase()))
        let queued = try queue.enqueue(NewJob(kind: "noop", priority: 200)).id
        let running = try queue.enqueue(NewJob(kind: "noop", priority: 10)).id
        let job = try #require(try queue.claim(owner: "worker", lease: .seconds(60)).first)
        #expect(job.id == running)

        #expect(try queue.cancel(job: queued))
        #expect(try queue.cancel(job: running))
        #expect(try queue.cancel(job: running) == false)
        #expect(try queue.job(queued)?.state == .cancelled)
        #expect(throws: JobStoreError.self) {
            try queue.complete(job: running, attempt: job.attempt, owner: "worker")
        }
        #expect(try queue.claim(owner: "worker", lease: .seconds(60)).isEmpty)
        #expect(throws: JobStoreError.jobNotFound(999_999)) { try queue.cancel(job: 999_999) }
    }

    @Test func retryQueuesDeadAndCancelledJobsAgain() throws {
        let url = try TestDatabase.makeMigratedDatabase()
        let listener = try Connection(conninfo: url)
        try listener.listen(JobQueue.notificationChannel)
        let queue = JobQueue(connection: try Connection(conninfo: url))
        let failing = try queue.enqueue(NewJob(kind: "analyze", maxAttempts: 2)).id
        let cancelled = try queue.enqueue(NewJob(kind: "noop", priority: 200)).id
        #expect(try listener.waitForNotification(timeout: .seconds(5)) != nil)
        while try listener.waitForNotification(timeout: .milliseconds(100)) != nil {}

        // Two attempts fail and the job is dead; the other job is cancelled while queued.
        var lastAttempt = 0
        for _ in 1...2 {
            let attempt = try #require(try queue.claim(owner: "worker", lease: .seconds(60), kinds: ["analyze"]).first)
            lastAttempt = attempt.attempt
            _ = try queue.fail(job: failing, attempt: attempt.attempt, owner: "worker", error: "model missing", retryable: true)
            try queue.connection.execute("UPDATE jobs SET run_after = now() WHERE id = $1", [failing])
        }
        #expect(try queue.job(failing)?.state == .dead)
        #expect(try queue.cancel(job: cancelled))

        #expect(try queue.retry(job: failing))
        #expect(try queue.retry(job: cancelled))
        let retried = try #require(try queue.job(failing))
        #expect(retried.state == .queued)
        #expect(retried.attempt == 2)
        #expect(retried.maxAttempts == 4)
        #expect(try queue.job(cancelled)?.state == .queued)
        #expect(try listener.waitForNotification(timeout: .seconds(5))?.payload == "analyze")

        // The next attempt is number 3, so a late result of attempt 2 is still fenced out.
        let third = try #require(try queue.claim(owner: "worker", lease: .seconds(60), kinds: ["analyze"]).first)
        #expect(third.attempt == 3)
        #expect(throws: JobStoreError.self) { try queue.complete(job: failing, attempt: lastAttempt, owner: "worker") }
        try queue.complete(job: failing, attempt: third.attempt, owner: "worker")

        // Only dead and cancelled jobs are retried.
        #expect(try queue.retry(job: failing) == false)
        #expect(try queue.retry(job: cancelled) == false)
        #expect(throws: JobStoreError.jobNotFound(999_999)) { try queue.retry(job: 999_999) }
        let path = try queue.connection.execute("""
            SELECT string_agg(coalesce(from_state::text, '-') || '>' || to_state, ' ' ORDER BY id) FROM job_events WHERE job_id = $1
            """, [failing]).scalar
        #expect(path == "->queued queued>running running>queued queued>running running>dead dead>queued queued>running running>succeeded")
    }

    @Test func claimOrderIsPriorityThenAge() throws {
        let queue = JobQueue(connection: try Connection(conninfo: try TestDatabase.makeMigratedDatabase()))
        let low = try queue.enqueue(NewJob(kind: "noop", priority: 200)).id
        let firstUrgent = try queue.enqueue(NewJob(kind: "noop", priority: 1)).id
        let delayed = try queue.enqueue(NewJob(kind: "noop", priority: 0, delay: .seconds(60))).id
        let secondUrgent = try queue.enqueue(NewJob(kind: "noop", priority: 1)).id
        let other = try queue.enqueue(NewJob(kind: "track", priority: 0)).id

        let claimed = try queue.claim(owner: "w", limit: 10, lease: .seconds(60), kinds: ["noop"]).map(\.id)
        #expect(claimed == [firstUrgent, secondUrgent, low])
        #expect(!claimed.contains(delayed))
        #expect(try queue.claim(owner: "w", limit: 10, lease: .seconds(60), kinds: ["track"]).map(\.id) == [other])
    }

    @Test func enqueueNotifiesListenersOnCommit() throws {
        let url = try TestDatabase.makeMigratedDatabase()
        let listener = try Connection(conninfo: url)
        try listener.listen(JobQueue.notificationChannel)
        let connection = try Connection(conninfo: url)
        let queue = JobQueue(connection: connection)

        try connection.execute("BEGIN")
        try queue.enqueue(NewJob(kind: "analyze"))
        #expect(try listener.waitForNotification(timeout: .milliseconds(200)) == nil)
        try connection.execute("COMMIT")

        let notification = try listener.waitForNotification(timeout: .seconds(5))
        #expect(notification?.channel == JobQueue.notificationChannel)
        #expect(notification?.payload == "analyze")
    }
}

final class ClaimLog: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: [Int64] = []
    func record(_ id: Int64) { lock.withLock { ids.append(id) } }
    var count: Int { lock.withLock { ids.count } }
    var distinctCount: Int { lock.withLock { Set(ids).count } }
}

final class ResultsBox: @unchecked Sendable {
    private let lock = NSLock()
    private var byKey: [String: [EnqueueResult]] = [:]
    func record(key: String, result: EnqueueResult, submitter: Int) { lock.withLock { byKey[key, default: []].append(result) } }
    func outcomes(for key: String) -> [EnqueueResult] { lock.withLock { byKey[key] ?? [] } }
}
