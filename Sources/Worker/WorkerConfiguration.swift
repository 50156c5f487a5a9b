import Foundation

/// Settings of one worker process.
public struct WorkerConfiguration: Sendable {
    /// Coordinator worker endpoints to connect to; the worker serves all of them.
    public var coordinators: [String]
    /// The worker's name: its ZeroMQ routing ID and its lease owner name. Must be unique.
    public var name: String
    /// Attempts run at once.
    public var concurrency: Int
    public var heartbeatInterval: Duration
    /// A coordinator silent for this many intervals is treated as gone: slots granted to it return.
    public var missedHeartbeats: Int
    /// How long a stopping worker lets running attempts finish before handing them back.
    public var shutdownTimeout: Duration
    /// Reported in READY so coordinators can tell weights apart.
    public var modelVersion: String
    /// Reconnect backoff towards a coordinator: starts at the first, doubles up to the second.
    public var reconnectInterval: (initial: Duration, maximum: Duration)

    public init(
        coordinators: [String] = ["tcp://127.0.0.1:5555"],
        name: String = WorkerConfiguration.defaultName(),
        concurrency: Int = 1,
        heartbeatInterval: Duration = .seconds(1),
        missedHeartbeats: Int = 3,
        shutdownTimeout: Duration = .seconds(30),
        modelVersion: String = "none",
        reconnectInterval: (initial: Duration, maximum: Duration) = (.milliseconds(100), .seconds(5))
    ) {
        self.coordinators = coordinators
        self.name = name
        self.concurrency = concurrency
        self.heartbeatInterval = heartbeatInterval
        self.missedHeartbeats = missedHeartbeats
        self.shutdownTimeout = shutdownTimeout
        self.modelVersion = modelVersion
        self.reconnectInterval = reconnectInterval
    }

    /// `host-pid`, unique among the workers of one machine.
    public static func defaultName() -> String {
        "\(ProcessInfo.processInfo.hostName)-\(getpid())"
    }
}
