// The job row and its lifecycle, as stored in the `jobs` table.
import Foundation

/// The state of a job. The set is closed; the transitions are:
///
/// ```
/// queued ──claim──▶ running ──complete──▶ succeeded
///   ▲                 │ fail (retryable, attempts left) or lease expired (attempts left)
///   └─────────────────┘
/// running ──fail (not retryable, or no attempts left) / lease expired (no attempts left)──▶ dead
/// queued, running ──cancel──▶ cancelled
/// ```
///
/// `succeeded`, `dead` and `cancelled` are final.
public enum JobState: String, Sendable, CaseIterable, Codable {
    case queued
    case running
    case succeeded
    case dead
    case cancelled

    /// Whether no transition leaves this state.
    public var isFinal: Bool { self == .succeeded || self == .dead || self == .cancelled }
}

/// One error recorded for one attempt. `errors` keeps them all, oldest first.
public struct AttemptError: Sendable, Codable, Equatable {
    /// The attempt that failed.
    public let attempt: Int
    /// The lease owner that reported the failure, or whose lease expired.
    public let owner: String?
    /// When the coordinator recorded the failure (database clock).
    public let at: String
    /// The worker's message, or a message saying that the lease expired.
    public let error: String
}

/// A job as stored in the `jobs` table.
///
/// Execution is at least once: an attempt may run and be lost with its worker. The effect is
/// exactly once because only the current attempt, by its lease owner, can complete a job, and a
/// repeated completion by that same attempt is accepted without writing anything twice.
public struct JobRow: Sendable, Equatable {
    /// Assigned on enqueue; never changes.
    public let id: Int64
    /// What to run (`analyze`, `track`, `noop`); set on enqueue, never changes.
    public let kind: String
    /// Current lifecycle state; see ``JobState`` for the transitions.
    public let state: JobState
    /// Claim order: smaller values are claimed first, then older jobs (smaller IDs). Set on enqueue.
    public let priority: Int
    /// Arguments for the worker as JSON text; set on enqueue, never changes.
    public let payload: String
    /// Deduplicates enqueues: a second enqueue with the same key returns the first job. Set on
    /// enqueue; nil for jobs that may be enqueued any number of times.
    public let idempotencyKey: String?
    /// The study the job works on, if any; set on enqueue.
    public let studyID: Int64?
    /// Number of the current or last attempt: 0 until the first claim, then incremented by every
    /// claim. Completions, failures and heartbeats must name it (fencing).
    public let attempt: Int
    /// Attempts allowed before a failing job becomes `dead`; set on enqueue and raised by
    /// ``JobQueue/retry(job:reason:)``.
    public let maxAttempts: Int
    /// The job is not claimed before this time. Set to the enqueue time, then pushed into the
    /// future by each retryable failure with exponential backoff and jitter.
    public let runAfter: String
    /// The worker that holds the current attempt: set by claim, kept after success as a record of
    /// who completed it, cleared when the attempt fails, expires or is cancelled.
    public let leaseOwner: String?
    /// When the current attempt's lease runs out: set by claim, extended by heartbeats, nil
    /// whenever the job is not `running`. The sweeper requeues running jobs past this time.
    public let leaseExpiresAt: String?
    /// One entry per failed or expired attempt, appended and never rewritten.
    public let errors: [AttemptError]
    /// The worker's result as JSON text; set once, when the job succeeds.
    public let result: String?
    /// Enqueue time.
    public let createdAt: String
    /// Time of the most recent claim; nil before the first.
    public let attemptedAt: String?
    /// Time the job reached a final state; nil before.
    public let finalizedAt: String?
}

/// A job to enqueue.
public struct NewJob: Sendable {
    public var kind: String
    public var payload: String
    public var priority: Int
    public var maxAttempts: Int
    public var idempotencyKey: String?
    public var studyID: Int64?
    /// Delay before the job may be claimed.
    public var delay: Duration
    /// Jobs sharing a serial key run one at a time, oldest first.
    public var serialKey: String?

    public init(
        kind: String,
        payload: String = "{}",
        priority: Int = 100,
        maxAttempts: Int = 5,
        idempotencyKey: String? = nil,
        studyID: Int64? = nil,
        delay: Duration = .zero,
        serialKey: String? = nil
    ) {
        self.kind = kind
        self.payload = payload
        self.priority = priority
        self.maxAttempts = maxAttempts
        self.idempotencyKey = idempotencyKey
        self.studyID = studyID
        self.delay = delay
        self.serialKey = serialKey
    }
}

/// A job handed to a lease owner by ``JobQueue/claim(owner:limit:lease:kinds:)``.
public struct ClaimedJob: Sendable, Equatable, Hashable {
    public let id: Int64
    public let kind: String
    public let payload: String
    public let attempt: Int
    public let maxAttempts: Int
    public let studyID: Int64?
}

/// The outcome of an enqueue.
public struct EnqueueResult: Sendable, Equatable {
    public let id: Int64
    /// False when the idempotency key matched an existing job, whose ID is returned.
    public let inserted: Bool
}

/// The outcome of a failure report.
public enum FailureOutcome: Sendable, Equatable, CustomStringConvertible {
    /// Queued again; not claimed before the given time (database clock, text).
    case retryScheduled(runAfter: String)
    /// No attempts left, or the failure was not retryable.
    case dead

    /// The outcome as a log line shows it: `retry after TIME` or `dead`.
    public var description: String {
        switch self {
        case .retryScheduled(let runAfter): "retry after \(runAfter)"
        case .dead: "dead"
        }
    }
}
