// What a worker runs: one handler per job kind.
import Foundation
import Wire

/// Everything a handler gets for one attempt.
public struct JobContext: Sendable {
    public let order: JobOrder
    public let attachments: [Attachment]
    /// True once the coordinator abandoned the attempt (cancelled, or its lease was lost); a
    /// handler should check it between steps and stop early.
    public let isAbandoned: @Sendable () -> Bool
    /// Sends PROGRESS with the completed fraction (0...1) and the current stage's name.
    public let reportProgress: @Sendable (Double, String) -> Void
}

/// What a successful attempt returns.
public struct JobOutput: Sendable {
    /// JSON text stored as the job's result.
    public let result: String
    public let attachments: [Attachment]

    public init(result: String, attachments: [Attachment] = []) {
        self.result = result
        self.attachments = attachments
    }
}

/// A failed attempt. `retryable` is false when running the job again cannot help.
public struct JobError: Error, CustomStringConvertible {
    public let description: String
    public let retryable: Bool

    public init(_ description: String, retryable: Bool) {
        self.description = description
        self.retryable = retryable
    }
}

/// Runs jobs of some kinds. Called on a thread of its own per attempt.
public protocol JobHandler: Sendable {
    var kinds: [String] { get }
    func run(_ context: JobContext) throws -> JobOutput
}

/// The `noop` kind, for tests and the queue benchmark. Payload fields, all optional:
/// - `sleepMilliseconds`: wait that long, in 10 ms steps that honour ABANDON.
/// - `busyMilliseconds`: wait that long without looking at ABANDON, as a long stage of an
///   analysis does.
/// - `fail`: fail with this message, retryable.
/// - `crash`: abort the worker process, as a crashing decoder would.
public struct NoopJobHandler: JobHandler {
    public let kinds = ["noop"]

    public init() {}

    public func run(_ context: JobContext) throws -> JobOutput {
        let payload = (try? JSONSerialization.jsonObject(with: Data(context.order.payload.utf8))) as? [String: Any] ?? [:]
        if payload["crash"] as? Bool == true {
            FileHandle.standardError.write(Data("no-op job \(context.order.job) asked to crash the worker; aborting\n".utf8))
            abort()
        }
        if let milliseconds = payload["sleepMilliseconds"] as? Int, milliseconds > 0 {
            let clock = ContinuousClock()
            let end = clock.now + .milliseconds(milliseconds)
            while clock.now < end && !context.isAbandoned() {
                Thread.sleep(forTimeInterval: min(0.01, (end - clock.now) / .seconds(1)))
            }
            context.reportProgress(1, "slept")
        }
        if let milliseconds = payload["busyMilliseconds"] as? Int, milliseconds > 0 {
            Thread.sleep(forTimeInterval: Double(milliseconds) / 1000)
        }
        if let message = payload["fail"] as? String {
            throw JobError(message, retryable: true)
        }
        return JobOutput(result: "{\"job\": \(context.order.job), \"attempt\": \(context.order.attempt)}")
    }
}
