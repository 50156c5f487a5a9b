/// Errors of the job store. Messages name the job, attempt or file involved.
public enum JobStoreError: Error, CustomStringConvertible, Equatable {
    /// The server could not be reached within the reconnect timeout.
    case connectionFailed(String)
    /// The connection dropped while a statement ran; the statement may or may not have committed.
    case connectionLost(String)
    /// The server rejected a statement.
    case server(sqlState: String, message: String, statement: String)
    /// A completion, failure or heartbeat came from an attempt that no longer holds the job.
    case staleAttempt(job: Int64, attempt: Int, owner: String, current: String)
    /// No job has this ID.
    case jobNotFound(Int64)
    /// A migration file is invalid, missing or changed after it was applied.
    case migration(String)

    public var description: String {
        switch self {
        case .connectionFailed(let message):
            return message
        case .connectionLost(let message):
            return "lost the connection to PostgreSQL: \(message)"
        case .server(let sqlState, let message, let statement):
            return "PostgreSQL rejected the statement (SQLSTATE \(sqlState)): \(message) [statement: \(statement.prefix(120))]"
        case .staleAttempt(let job, let attempt, let owner, let current):
            return "job \(job) attempt \(attempt) by \(owner) is no longer current (\(current)); its result was rejected"
        case .jobNotFound(let job):
            return "job \(job) not found"
        case .migration(let message):
            return message
        }
    }

    /// Whether the error is a lost or failed connection, after which the operation may be retried.
    public var isConnectionError: Bool {
        switch self {
        case .connectionFailed, .connectionLost: return true
        case .server(let sqlState, _, _):
            // Class 57P: the server is shutting down or was restarted under the session.
            return sqlState.hasPrefix("57P") || sqlState.hasPrefix("08")
        default: return false
        }
    }
}
