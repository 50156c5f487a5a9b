// Queue operations on the `jobs` table: enqueue, claim, heartbeat, complete, fail, cancel and the
// sweeper that requeues expired leases. Every state change writes its `job_events` row in the
// same statement, and all times come from the database clock.
import Foundation

/// The job queue on one connection. Not thread-safe, like ``Connection``: give every thread its own.
///
/// Enqueue inside ``Connection/transaction(_:)`` to store a job atomically with the data it
/// belongs to (a study and its `analyze` job commit together or not at all).
public final class JobQueue {
    /// The channel on which every enqueue notifies, with the job kind as payload.
    public static let notificationChannel = "stdnet_jobs"

    public let connection: Connection
    public var retryPolicy: RetryPolicy

    public init(connection: Connection, retryPolicy: RetryPolicy = RetryPolicy()) {
        self.connection = connection
        self.retryPolicy = retryPolicy
    }

    // MARK: Enqueue

    /// Inserts a job, or returns the existing one when its idempotency key was used before.
    ///
    /// Concurrent enqueues with one key are safe: the unique index makes all but one wait and
    /// then find the winner's row.
    @discardableResult
    public func enqueue(_ job: NewJob) throws -> EnqueueResult {
        let inserted = try connection.execute(Statements.enqueue, [
            job.kind, job.payload, job.priority, job.maxAttempts, job.idempotencyKey,
            job.studyID, milliseconds(job.delay), job.serialKey,
        ])
        if let id = inserted.scalar.flatMap(Int64.init) {
            return EnqueueResult(id: id, inserted: true)
        }
        // The key exists: the conflicting insert has committed, so a fresh snapshot sees it.
        let existing = try connection.execute(Statements.findByIdempotencyKey, [job.idempotencyKey])
        guard let id = existing.scalar.flatMap(Int64.init) else {
            throw JobStoreError.jobNotFound(-1)
        }
        return EnqueueResult(id: id, inserted: false)
    }

    /// Inserts many jobs in one statement; jobs with an idempotency key already used are skipped.
    /// Returns the IDs of the inserted jobs.
    @discardableResult
    public func enqueue(batch jobs: [NewJob]) throws -> [Int64] {
        guard !jobs.isEmpty else { return [] }
        let result = try connection.execute(Statements.enqueueBatch, [
            PostgresArray(jobs.map(\.kind)), PostgresArray(jobs.map(\.payload)),
            PostgresArray(jobs.map { String($0.priority) }), PostgresArray(jobs.map { String($0.maxAttempts) }),
            PostgresArray(jobs.map(\.idempotencyKey)), PostgresArray(jobs.map { $0.studyID.map(String.init) }),
            PostgresArray(jobs.map { String(milliseconds($0.delay)) }), PostgresArray(jobs.map(\.serialKey)),
        ])
        return result.rows.map { Int64($0[0]!)! }
    }

    // MARK: Claim and lease

    /// Claims up to `limit` runnable jobs for `owner`, highest priority then oldest first.
    ///
    /// `FOR UPDATE SKIP LOCKED` lets any number of claimers run at once without waiting on each
    /// other or claiming one job twice. Each claim starts a new attempt with a lease of `lease`.
    public func claim(owner: String, limit: Int = 1, lease: Duration, kinds: [String]? = nil) throws -> [ClaimedJob] {
        let result = try connection.execute(Statements.claim, [
            owner, limit, milliseconds(lease), kinds.map { PostgresArray($0) },
        ])
        return result.rows.map { row in
            ClaimedJob(id: Int64(row[0]!)!, kind: row[1]!, payload: row[2]!, attempt: Int(row[3]!)!,
                       maxAttempts: Int(row[4]!)!, studyID: row[5].flatMap(Int64.init))
        }
    }

    /// Extends the leases of attempts `owner` still holds to `lease` from now and returns the
    /// IDs of those jobs; a job missing from the result was lost (expired, cancelled, reclaimed).
    @discardableResult
    public func heartbeat(owner: String, attempts: [(job: Int64, attempt: Int)], lease: Duration) throws -> Set<Int64> {
        guard !attempts.isEmpty else { return [] }
        let result = try connection.execute(Statements.heartbeat, [
            owner, PostgresArray(attempts.map { String($0.job) }), PostgresArray(attempts.map { String($0.attempt) }),
            milliseconds(lease),
        ])
        return Set(result.rows.map { Int64($0[0]!)! })
    }

    // MARK: Outcomes

    /// Marks the job succeeded with `result` (JSON text), provided `attempt` by `owner` is still
    /// current. Repeating the same completion is accepted and changes nothing.
    ///
    /// - throws: ``JobStoreError/staleAttempt(job:attempt:owner:current:)`` when the attempt no
    ///   longer holds the job.
    public func complete(job: Int64, attempt: Int, owner: String, result: String = "{}") throws {
        let updated = try connection.execute(Statements.complete, [job, attempt, owner, result])
        if updated.rows.isEmpty {
            try rejectUnlessAlreadySucceeded(job: job, attempt: attempt, owner: owner)
        }
    }

    /// Completes many attempts in one statement and returns the IDs it accepted; the others were
    /// stale. Repeated completions by the same attempt count as accepted.
    public func complete(batch: [(job: Int64, attempt: Int, owner: String, result: String)]) throws -> Set<Int64> {
        guard !batch.isEmpty else { return [] }
        let result = try connection.execute(Statements.completeBatch, [
            PostgresArray(batch.map { String($0.job) }), PostgresArray(batch.map { String($0.attempt) }),
            PostgresArray(batch.map(\.owner)), PostgresArray(batch.map(\.result)),
        ])
        return Set(result.rows.map { Int64($0[0]!)! })
    }

    /// Records a failed attempt. A retryable failure with attempts left queues the job again after
    /// the retry policy's backoff; otherwise the job becomes `dead`. Every error is kept.
    ///
    /// - throws: ``JobStoreError/staleAttempt(job:attempt:owner:current:)`` when the attempt no
    ///   longer holds the job.
    @discardableResult
    public func fail(job: Int64, attempt: Int, owner: String, error: String, retryable: Bool) throws -> FailureOutcome {
        let delay = retryPolicy.delay(afterAttempt: attempt)
        let updated = try connection.execute(Statements.fail, [job, attempt, owner, error, retryable, milliseconds(delay)])
        guard let row = updated.rows.first else {
            throw try staleAttemptError(job: job, attempt: attempt, owner: owner)
        }
        return row[0] == JobState.dead.rawValue ? .dead : .retryScheduled(runAfter: row[1]!)
    }

    /// Cancels a queued or running job and returns whether it was cancelled; a job already in a
    /// final state is left as it is. A running attempt's later result is rejected.
    @discardableResult
    public func cancel(job: Int64, reason: String = "cancelled on request") throws -> Bool {
        let result = try connection.execute(Statements.cancel, [job, reason])
        if result.rows.isEmpty, try self.job(job) == nil { throw JobStoreError.jobNotFound(job) }
        return !result.rows.isEmpty
    }

    /// Queues a `dead` or `cancelled` job again, with as many more attempts as it had. Its
    /// attempts keep their numbers, so a late result of an earlier attempt is still rejected.
    ///
    /// - returns: false when the job is not dead or cancelled (queued, running or succeeded).
    /// - throws: ``JobStoreError/jobNotFound(_:)`` for an unknown job.
    public func retry(job: Int64, reason: String = "retried on request") throws -> Bool {
        let result = try connection.execute(Statements.retry, [job, reason])
        if result.rows.isEmpty, try self.job(job) == nil { throw JobStoreError.jobNotFound(job) }
        return !result.rows.isEmpty
    }

    // MARK: Sweeper

    /// Ends every running attempt whose lease has expired: the job is queued again at once, or
    /// becomes `dead` when that was its last attempt. Returns the IDs of the jobs it touched.
    ///
    /// Safe to run from several coordinators at once: each expired job is taken by one of them.
    @discardableResult
    public func requeueExpiredLeases(limit: Int = 1000) throws -> [Int64] {
        let result = try connection.execute(Statements.requeueExpired, [limit])
        return result.rows.map { Int64($0[0]!)! }
    }

    // MARK: Reading

    /// Returns the job with this ID, or nil.
    public func job(_ id: Int64) throws -> JobRow? {
        let result = try connection.execute(Statements.select, [id])
        guard let row = result.rows.first else { return nil }
        return try JobRow(row: row)
    }

    // MARK: Fencing

    private func rejectUnlessAlreadySucceeded(job: Int64, attempt: Int, owner: String) throws {
        guard let current = try self.job(job) else { throw JobStoreError.jobNotFound(job) }
        if current.state == .succeeded, current.attempt == attempt, current.leaseOwner == owner { return }
        throw JobStoreError.staleAttempt(job: job, attempt: attempt, owner: owner, current: current.fencingSummary)
    }

    private func staleAttemptError(job: Int64, attempt: Int, owner: String) throws -> JobStoreError {
        guard let current = try self.job(job) else { return .jobNotFound(job) }
        return .staleAttempt(job: job, attempt: attempt, owner: owner, current: current.fencingSummary)
    }
}

extension JobRow {
    init(row: [String?]) throws {
        let decoder = JSONDecoder()
        id = Int64(row[0]!)!
        kind = row[1]!
        state = JobState(rawValue: row[2]!)!
        priority = Int(row[3]!)!
        payload = row[4]!
        idempotencyKey = row[5]
        studyID = row[6].flatMap(Int64.init)
        attempt = Int(row[7]!)!
        maxAttempts = Int(row[8]!)!
        runAfter = row[9]!
        leaseOwner = row[10]
        leaseExpiresAt = row[11]
        errors = try decoder.decode([AttemptError].self, from: Data(row[12]!.utf8))
        result = row[13]
        createdAt = row[14]!
        attemptedAt = row[15]
        finalizedAt = row[16]
    }

    /// The state, attempt and owner, for stale-attempt messages.
    var fencingSummary: String {
        "job is \(state.rawValue), attempt \(attempt)" + (leaseOwner.map { " held by \($0)" } ?? "")
    }
}

/// A text array parameter in PostgreSQL's array input syntax; nil elements become NULL.
struct PostgresArray: SQLParameter {
    let elements: [String?]

    init(_ elements: [String?]) { self.elements = elements }
    init(_ elements: [String]) { self.elements = elements }

    var sqlText: String {
        let quoted = elements.map { element -> String in
            guard let element else { return "NULL" }
            let escaped = element.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return "\"\(escaped)\""
        }
        return "{" + quoted.joined(separator: ",") + "}"
    }
}

/// Whole milliseconds, rounded towards zero.
private func milliseconds(_ duration: Duration) -> Int64 {
    Int64(duration / .milliseconds(1))
}
