// The coordinator: the only process that talks to PostgreSQL. It hands queued jobs to workers
// that have granted it slots, keeps their leases alive on heartbeats, records results and
// failures fenced by attempt, and answers clients.
import Foundation
import JobStore
import ServiceSupport
import Wire

/// One coordinator process. `run` owns every socket and connection on the calling thread.
public final class Coordinator {
    let configuration: CoordinatorConfiguration
    let logger: Logger
    let queue: JobQueue
    /// The same queue on a connection without synchronous commit, for claims, lease extensions
    /// and sweeps: one of those lost in a server crash only leaves a lease to expire.
    let leaseQueue: JobQueue
    let studies: StudyStore
    let listener: Connection
    let workerSocket: Socket
    let clientSocket: Socket
    var workers = WorkerRegistry()
    /// Set when an enqueue notification arrived or a sweep requeued jobs; cleared when a claim
    /// finds less than it asked for.
    var workMayBeQueued = true
    var pendingResults: [(worker: String, result: JobResult, attachments: [Attachment])] = []
    var pendingFailures: [(worker: String, failure: JobFailure)] = []
    /// Random per run; workers see a new value after a restart.
    let session = makeSessionID()
    /// Stores submitted studies off the event loop.
    let studyStore: BackgroundStudyStore
    /// Reads analyze inputs and exports off the event loop.
    let reads: BackgroundReads
    let databaseErrors: RateLimitedLog
    /// When the lease sweep first failed to reach PostgreSQL; nil while it is reachable.
    private var databaseUnreachableSince: ContinuousClock.Instant?
    let workerProtocolErrors: RateLimitedLog
    let clientProtocolErrors: RateLimitedLog
    var uploads: UploadStaging
    let uploadErrors: RateLimitedLog
    /// Replies that ZeroMQ would not queue, for example to a client that sends a flood and
    /// never reads.
    private let undeliveredReplies: RateLimitedLog

    public init(configuration: CoordinatorConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        queue = JobQueue(connection: try Connection(configuration.database))
        try Migrator.checkSchema(on: queue.connection)
        var leaseConnection = configuration.database
        leaseConnection.synchronousCommit = false
        leaseQueue = JobQueue(connection: try Connection(leaseConnection))
        studies = StudyStore(connection: queue.connection)
        studyStore = BackgroundStudyStore(connection: try Connection(configuration.database))
        reads = BackgroundReads(connection: try Connection(configuration.database))
        listener = try Connection(configuration.database)
        try listener.listen(JobQueue.notificationChannel)
        workerSocket = try Socket(.router)
        try workerSocket.bind(configuration.workerEndpoint)
        clientSocket = try Socket(.router)
        try clientSocket.bind(configuration.clientEndpoint)
        databaseErrors = RateLimitedLog(logger: logger, interval: .seconds(5))
        workerProtocolErrors = RateLimitedLog(logger: logger, interval: .seconds(5))
        clientProtocolErrors = RateLimitedLog(logger: logger, interval: .seconds(5))
        uploads = UploadStaging(limit: configuration.uploadLimit, totalLimit: configuration.uploadTotalLimit,
                                idleTimeout: configuration.uploadIdleTimeout)
        uploadErrors = RateLimitedLog(logger: logger, interval: .seconds(5))
        undeliveredReplies = RateLimitedLog(logger: logger, interval: .seconds(5))
    }

    /// The bound worker endpoint (with the real port when the configuration asked for port 0).
    public var workerEndpoint: String { workerSocket.lastEndpoint }
    public var clientEndpoint: String { clientSocket.lastEndpoint }

    /// Runs until `shutdown` is requested, then stops handing out work, tells workers, waits up
    /// to the shutdown timeout for results in flight and returns.
    public func run(until shutdown: ShutdownRequest) {
        logger.info("coordinator started", ["name": configuration.name, "workers": workerEndpoint, "clients": clientEndpoint])
        let clock = ContinuousClock()
        var nextSweep = clock.now
        var nextHeartbeat = clock.now
        var stoppingSince: ContinuousClock.Instant?

        while true {
            if shutdown.isRequested && stoppingSince == nil {
                stoppingSince = clock.now
                beginShutdown()
            }
            if let stoppingSince {
                let settled = workers.totalInFlight == 0 && pendingResults.isEmpty && pendingFailures.isEmpty && !studyStore.isBusy
                    && !reads.isBusy
                if settled || clock.now - stoppingSince > configuration.shutdownTimeout { break }
            }

            waitForInput(until: min(nextSweep, nextHeartbeat))
            receiveNotifications()
            drainWorkerMessages()
            recordPendingResults()
            recordPendingFailures()
            drainClientMessages()
            replyToStoredStudies()
            deliverFinishedReads(stopping: stoppingSince != nil)

            if clock.now >= nextSweep {
                sweepExpiredLeases()
                dropIdleUploads()
                nextSweep = clock.now + configuration.sweepInterval
            }
            if clock.now >= nextHeartbeat {
                // A stopping coordinator stays silent after BYE, so workers do not grant it slots again.
                if stoppingSince == nil { sendHeartbeats() }
                declareSilentWorkersDead()
                nextHeartbeat = clock.now + configuration.heartbeatInterval
            }
            if stoppingSince == nil && workMayBeQueued {
                dispatch()
            }
        }
        logger.info("coordinator stopped", ["name": configuration.name, "in_flight": workers.totalInFlight])
        // BYE and the last acknowledgements may still sit in the socket's queue: give them a second.
        workerSocket.setLinger(.seconds(1))
        workerSocket.close()
        clientSocket.close()
    }

    // MARK: Event loop steps

    private func waitForInput(until deadline: ContinuousClock.Instant) {
        let now = ContinuousClock.now
        // Busy queues are served without sleeping; otherwise wait for a message, a notification
        // or the next timer.
        let timeout = workMayBeQueued && !workers.dispatchable.isEmpty ? .zero : max(.zero, min(deadline - now, .milliseconds(100)))
        var items: [PollItem] = [.socket(workerSocket), .socket(clientSocket)]
        let descriptor = listener.socketDescriptor
        if descriptor >= 0 { items.append(.descriptor(descriptor)) }
        do {
            _ = try poll(items, timeout: timeout)
        } catch {
            logger.error("poll failed", ["error": error])
            Thread.sleep(forTimeInterval: 0.01)
        }
    }

    private func receiveNotifications() {
        do {
            if try !listener.receiveNotifications().isEmpty { workMayBeQueued = true }
        } catch {
            databaseErrors.report("listening for enqueue notifications failed", error)
        }
    }

    private func sweepExpiredLeases() {
        do {
            let requeued = try leaseQueue.requeueExpiredLeases()
            if !requeued.isEmpty {
                logger.warning("expired leases swept", ["jobs": requeued.map(String.init).joined(separator: ",")])
            }
            // Delayed retries become runnable without a notification, so look again on every sweep.
            workMayBeQueued = true
            if let since = databaseUnreachableSince {
                logger.info("database reachable again", ["unreachable_ms": (ContinuousClock.now - since).milliseconds])
                databaseUnreachableSince = nil
            }
        } catch {
            if (error as? JobStoreError)?.isConnectionError == true, databaseUnreachableSince == nil {
                databaseUnreachableSince = .now
            }
            databaseErrors.report("sweeping expired leases failed", error)
        }
    }

    private func beginShutdown() {
        logger.info("coordinator stopping", ["in_flight": workers.totalInFlight, "timeout_ms": configuration.shutdownTimeout.milliseconds])
        for worker in workers.workers.values {
            send(.bye(Bye(sender: configuration.name)), to: worker.name)
        }
    }

    // MARK: Sending

    @discardableResult
    func send(_ message: Message, attachments: [Attachment] = [], to worker: String) -> Bool {
        let frames = [Data(worker.utf8)] + Envelope(message, attachments: attachments).encode()
        return workerSocket.send(frames)
    }

    func reply(_ message: Message, attachments: [Attachment] = [], to client: Data) {
        let (frames, oversizedBytes) = Envelope(message, attachments: attachments).encodeReply(request: requestID(of: message))
        if let oversizedBytes {
            logger.warning("reply over the frame limit replaced by an error", ["type": message.name, "bytes": oversizedBytes])
        }
        if !clientSocket.send([client] + frames) {
            undeliveredReplies.report("reply to client not delivered", LogText("\(message.name) reply"), .warning)
        }
    }
}
