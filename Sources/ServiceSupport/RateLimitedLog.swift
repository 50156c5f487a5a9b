// Error logging that cannot flood the log when one failure repeats in a loop.

/// Logs an error at most once per interval, with the number of repeats it held back.
public final class RateLimitedLog {
    public let logger: Logger
    public let interval: Duration
    private var lastLogged: ContinuousClock.Instant?
    private var suppressed = 0

    public init(logger: Logger, interval: Duration) {
        self.logger = logger
        self.interval = interval
    }

    public func report(_ message: String, _ error: Error, _ level: LogLevel = .error) {
        let now = ContinuousClock.now
        if let lastLogged, now - lastLogged < interval {
            suppressed += 1
            return
        }
        logger.log(level, message, ["error": error, "repeats_suppressed": suppressed])
        lastLogged = now
        suppressed = 0
    }
}
