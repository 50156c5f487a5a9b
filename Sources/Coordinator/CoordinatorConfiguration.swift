import JobStore

/// Settings of one coordinator process.
public struct CoordinatorConfiguration: Sendable {
    public var database: Connection.Configuration
    /// The endpoint the coordinator binds for workers (ROUTER).
    public var workerEndpoint: String
    /// The endpoint the coordinator binds for clients (ROUTER).
    public var clientEndpoint: String
    /// Names this coordinator in logs.
    public var name: String
    /// How long an attempt holds its job without a heartbeat.
    public var lease: Duration
    /// Interval of heartbeats to workers; a worker silent for `missedHeartbeats` intervals is dead.
    public var heartbeatInterval: Duration
    public var missedHeartbeats: Int
    /// How often expired leases are swept and delayed retries looked for.
    public var sweepInterval: Duration
    /// How long a stopping coordinator waits for results of attempts in flight.
    public var shutdownTimeout: Duration
    /// Maximum bytes one upload may stage in memory before its SUBMIT_STUDY. The default, 2 GiB,
    /// fits four phases of 512 x 512 x 500 Float32 voxels (2,097,152,000 bytes).
    public var uploadLimit: Int
    /// Maximum bytes all uploads together may stage in memory, by default four full uploads.
    public var uploadTotalLimit: Int
    /// An upload that receives no part for this long is dropped with its staged bytes.
    public var uploadIdleTimeout: Duration

    public init(
        database: Connection.Configuration,
        workerEndpoint: String = "tcp://127.0.0.1:5555",
        clientEndpoint: String = "tcp://127.0.0.1:5556",
        name: String = "coordinator",
        lease: Duration = .seconds(10),
        heartbeatInterval: Duration = .seconds(1),
        missedHeartbeats: Int = 3,
        sweepInterval: Duration = .seconds(1),
        shutdownTimeout: Duration = .seconds(10),
        uploadLimit: Int = 2 << 30,
        uploadTotalLimit: Int = 8 << 30,
        uploadIdleTimeout: Duration = .seconds(300)
    ) {
        self.database = database
        self.workerEndpoint = workerEndpoint
        self.clientEndpoint = clientEndpoint
        self.name = name
        self.lease = lease
        self.heartbeatInterval = heartbeatInterval
        self.missedHeartbeats = missedHeartbeats
        self.sweepInterval = sweepInterval
        self.shutdownTimeout = shutdownTimeout
        self.uploadLimit = uploadLimit
        self.uploadTotalLimit = uploadTotalLimit
        self.uploadIdleTimeout = uploadIdleTimeout
    }
}
