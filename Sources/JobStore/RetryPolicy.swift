/// Exponential backoff with jitter for retryable failures.
///
/// The delay after attempt `n` is drawn uniformly from `[d/2, d]` where
/// `d = min(base * 2^(n-1), maximum)` ("equal jitter"): retries of jobs that failed together
/// spread out, and each retry waits at least as long as half the previous bound.
public struct RetryPolicy: Sendable {
    public var base: Duration
    public var maximum: Duration

    public init(base: Duration = .seconds(1), maximum: Duration = .seconds(600)) {
        self.base = base
        self.maximum = maximum
    }

    /// Returns the upper bound of the delay after `attempt` (1-based), before jitter.
    public func ceiling(afterAttempt attempt: Int) -> Duration {
        let doublings = min(max(attempt - 1, 0), 40)
        let grown = base / .seconds(1) * Double(1 << doublings)
        return .milliseconds(Int64(min(grown, maximum / .seconds(1)) * 1000))
    }

    /// Returns a jittered delay after `attempt`, using `random` for the jitter.
    public func delay<R: RandomNumberGenerator>(afterAttempt attempt: Int, using random: inout R) -> Duration {
        let ceiling = ceiling(afterAttempt: attempt) / .seconds(1)
        let seconds = Double.random(in: (ceiling / 2)...ceiling, using: &random)
        return .milliseconds(Int64(seconds * 1000))
    }

    public func delay(afterAttempt attempt: Int) -> Duration {
        var random = SystemRandomNumberGenerator()
        return delay(afterAttempt: attempt, using: &random)
    }
}
