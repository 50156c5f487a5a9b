import Foundation
import JobStore
import Testing
import TestSupport

/// Jobs sharing a serial key (a patient's tracking) run one at a time, oldest first.
@Suite struct SerialKeyTests {
    @Test func jobsOfOneKeyRunOneAtATimeInOrder() throws {
        let queue = JobQueue(connection: try Connection(conninfo: try TestDatabase.makeMigratedDatabase()),
                             retryPolicy: RetryPolicy(base: .zero, maximum: .zero))
        let first = try queue.enqueue(NewJob(kind: "track", payload: "{\"n\": 1}", serialKey: "track:7")).id
        let second = try queue.enqueue(NewJob(kind: "track", payload: "{\"n\": 2}", serialKey: "track:7")).id
        let otherPatient = try queue.enqueue(NewJob(kind: "track", serialKey: "track:8")).id
        let unkeyed = try queue.enqueue(NewJob(kind: "noop")).id

        // One claim of ten takes one job per key: the oldest of patient 7, not its second.
        let claimed = try queue.claim(owner: "a", limit: 10, lease: .seconds(60))
        #expect(Set(claimed.map(\.id)) == [first, otherPatient, unkeyed])
        // While the first runs, the second waits, for every claimer.
        #expect(try queue.claim(owner: "b", limit: 10, lease: .seconds(60)).isEmpty)

        // A failed attempt goes back first in line; the second still waits behind it.
        let attempt = claimed.first { $0.id == first }!.attempt
        _ = try queue.fail(job: first, attempt: attempt, owner: "a", error: "worker lost", retryable: true)
        #expect(try queue.claim(owner: "b", limit: 10, lease: .seconds(60)).map(\.id) == [first])

        try queue.complete(job: first, attempt: attempt + 1, owner: "b")
        #expect(try queue.claim(owner: "c", limit: 10, lease: .seconds(60)).map(\.id) == [second])
    }

    @Test func concurrentClaimersNeverRunTwoJobsOfOneKey() throws {
        let url = try TestDatabase.makeMigratedDatabase()
        let producer = JobQueue(connection: try Connection(conninfo: url))
        try producer.enqueue(batch: (0..<60).map { NewJob(kind: "track", payload: "{\"n\": \($0)}", serialKey: "track:\($0 % 3)") })

        let log = ClaimLog()
        try runConcurrently(4) { claimer in
            let queue = JobQueue(connection: try Connection(conninfo: url))
            let owner = "claimer-\(claimer)"
            var idleRounds = 0
            while idleRounds < 50 {
                let jobs = try queue.claim(owner: owner, limit: 5, lease: .seconds(60))
                if jobs.isEmpty {
                    idleRounds += 1
                    Thread.sleep(forTimeInterval: 0.005)
                    continue
                }
                idleRounds = 0
                for job in jobs {
                    log.record(job.id)
                    try queue.complete(job: job.id, attempt: job.attempt, owner: owner)
                }
            }
        }
        #expect(log.distinctCount == 60)
        // No two jobs of one key were ever running together: each claim of a key came after the
        // completion of the key's previous job.
        let overlaps = try producer.connection.execute("""
            WITH spans AS (
                SELECT j.serial_key, c.occurred_at AS started, d.occurred_at AS finished
                FROM jobs j
                JOIN job_events c ON c.job_id = j.id AND c.to_state = 'running'
                JOIN job_events d ON d.job_id = j.id AND d.to_state = 'succeeded')
            SELECT count(*) FROM spans a JOIN spans b ON a.serial_key = b.serial_key AND a.started < b.started
            WHERE b.started < a.finished
            """)
        #expect(overlaps.scalar == "0")
        // And they ran in the order they were enqueued, by the times of their claim events.
        let outOfOrder = try producer.connection.execute("""
            WITH claims AS (
                SELECT j.id, j.serial_key, c.occurred_at FROM jobs j
                JOIN job_events c ON c.job_id = j.id AND c.to_state = 'running')
            SELECT count(*) FROM claims a JOIN claims b ON a.serial_key = b.serial_key AND a.id < b.id
            WHERE a.occurred_at > b.occurred_at
            """)
        #expect(outOfOrder.scalar == "0")
    }
}
