// A stateless worker: connects to one or more coordinators, grants them slots, runs the jobs
// they send on threads of their own, heartbeats, and sends results back.
import Foundation
import NeuralEngine
import ServiceSupport
import Wire

/// One worker process. `run` owns every socket on the calling thread; attempts run on
/// threads of their own and hand their outcome back through the outbox.
public final class Worker {
    let configuration: WorkerConfiguration
    let logger: Logger
    let handlers: [String: any JobHandler]
    var links: [CoordinatorLink] = []
    var running: [JobAttempt: RunningAttempt] = [:]
    let outbox = Outbox()
    /// Random per run, sent in READY and HEARTBEAT so coordinators notice a restart under the same name.
    let session = makeSessionID()
    let protocolErrors: RateLimitedLog

    public init(configuration: WorkerConfiguration, handlers: [any JobHandler], logger: Logger) throws {
        precondition(configuration.concurrency >= 1, "concurrency must be at least 1")
        self.configuration = configuration
        self.logger = logger
        var byKind: [String: any JobHandler] = [:]
        for handler in handlers {
            for kind in handler.kinds { byKind[kind] = handler }
        }
        self.handlers = byKind
        protocolErrors = RateLimitedLog(logger: logger, interval: .seconds(5))
        for endpoint in configuration.coordinators {
            let socket = try Socket(.dealer, identity: configuration.name)
            try socket.setReconnectInterval(initial: configuration.reconnectInterval.initial, maximum: configuration.reconnectInterval.maximum)
            try socket.connect(endpoint)
            links.append(CoordinatorLink(endpoint: endpoint, socket: socket))
        }
    }

    /// Runs until `shutdown` is requested; then takes no more work, lets running attempts finish
    /// for up to the shutdown timeout, hands back the rest and returns.
    public func run(until shutdown: ShutdownRequest) {
        logger.info("worker started", ["worker": configuration.name, "concurrency": configuration.concurrency,
                                       "coordinators": configuration.coordinators.joined(separator: ","),
                                       "vector_kernels": vectorKernelBuildInUse])
        if let ignored = ignoredVectorKernelSetting {
            logger.warning("STDNET_VECTOR_KERNELS ignored", ["value": ignored.value, "reason": ignored.reason])
        }
        let clock = ContinuousClock()
        var nextHeartbeat = clock.now
        var stoppingSince: ContinuousClock.Instant?

        while true {
            if shutdown.isRequested && stoppingSince == nil {
                stoppingSince = clock.now
                logger.info("worker stopping", ["worker": configuration.name, "running": running.count])
                for index in links.indices { send(.bye(Bye(sender: configuration.name)), on: index) }
            }
            if let stoppingSince {
                if running.isEmpty { break }
                if clock.now - stoppingSince > configuration.shutdownTimeout {
                    handBackRunningAttempts()
                    break
                }
            }

            waitForInput(until: nextHeartbeat)
            for index in links.indices { drainMessages(on: index) }
            sendFinishedAttempts()

            if clock.now >= nextHeartbeat {
                sendHeartbeats()
                markSilentCoordinatorsGone()
                nextHeartbeat = clock.now + configuration.heartbeatInterval
            }
            if stoppingSince == nil { grantFreeSlots() }
        }
        // The last results and hand-backs get a second to leave; shutDownZeroMQ waits for them.
        for link in links {
            link.socket.setLinger(.seconds(1))
            link.socket.close()
        }
        logger.info("worker stopped", ["worker": configuration.name])
    }

    // MARK: Event loop steps

    private func waitForInput(until deadline: ContinuousClock.Instant) {
        var items = links.map { PollItem.socket($0.socket) }
        items.append(.descriptor(outbox.wakeDescriptor))
        let timeout = max(.zero, min(deadline - ContinuousClock.now, .milliseconds(100)))
        do {
            _ = try poll(items, timeout: timeout)
        } catch {
            logger.error("poll failed", ["error": error])
            Thread.sleep(forTimeInterval: 0.01)
        }
    }

    private func drainMessages(on index: Int) {
        while true {
            let frames: [Data]?
            do {
                frames = try links[index].socket.receive()
            } catch {
                logger.error("receiving from coordinator failed", ["coordinator": links[index].endpoint, "error": error])
                return
            }
            guard let frames else { return }
            do {
                handle(try Envelope.decode(frames), on: index)
            } catch {
                protocolErrors.report("malformed coordinator message rejected", CoordinatorMessageError(endpoint: links[index].endpoint, underlying: error), .warning)
            }
        }
    }

    private func handle(_ envelope: Envelope, on index: Int) {
        links[index].lastHeard = ContinuousClock.now
        if case .heartbeat(let heartbeat) = envelope.message {
            let restarted = links[index].coordinatorSession.map { $0 != heartbeat.session } ?? false
            if heartbeat.hello || restarted {
                // The coordinator does not know this worker (new, restarted, or it declared the
                // worker dead): slots granted before are void and are granted again. A READY
                // without slots announces at once which job kinds this worker runs, because a
                // busy worker has no slot to grant and would otherwise stay unknown to clients
                // until its attempts end.
                links[index].granted = 0
                links[index].saidBye = false
                send(ready(slots: 0), on: index)
            }
            links[index].coordinatorSession = heartbeat.session
        }
        if !links[index].isAlive && !links[index].saidBye {
            links[index].isAlive = true
            logger.info("coordinator reachable", ["coordinator": links[index].endpoint])
        }

        switch envelope.message {
        case .job(let order):
            links[index].granted = max(0, links[index].granted - 1)
            start(order, attachments: envelope.attachments, from: index)
        case .heartbeat:
            break
        case .abandon(let abandon):
            let attempt = JobAttempt(job: abandon.job, attempt: abandon.attempt)
            // A repeated ABANDON for an attempt whose handler has not yet stopped is not news.
            if let job = running[attempt], !job.abandoned.isSet {
                job.abandoned.set()
                logger.warning("attempt abandoned", ["job": abandon.job, "attempt": abandon.attempt, "reason": abandon.reason])
            }
        case .acknowledgement(let acknowledgement):
            if !acknowledgement.accepted {
                logger.warning("result rejected by coordinator", ["job": acknowledgement.job, "attempt": acknowledgement.attempt,
                                                                  "reason": acknowledgement.reason ?? ""])
            }
        case .bye:
            links[index].isAlive = false
            links[index].granted = 0
            links[index].saidBye = true
            logger.info("coordinator leaving", ["coordinator": links[index].endpoint])
        case .error(let error):
            logger.warning("coordinator reported an error", ["coordinator": links[index].endpoint, "message": error.message])
        default:
            logger.warning("unexpected message from coordinator ignored", ["coordinator": links[index].endpoint, "type": envelope.message.name])
        }
    }

    // MARK: Slots

    /// Slots neither running an attempt nor granted to a coordinator.
    var freeSlots: Int {
        configuration.concurrency - running.count - links.reduce(0) { $0 + ($1.isAlive ? $1.granted : 0) }
    }

    /// Grants every free slot to a reachable coordinator, spreading them evenly.
    private func grantFreeSlots() {
        var grants = Array(repeating: 0, count: links.count)
        var free = freeSlots
        while free > 0 {
            let candidates = links.indices.filter { links[$0].isAlive }
            guard let index = candidates.min(by: { load(of: $0) + grants[$0] < load(of: $1) + grants[$1] }) else { break }
            grants[index] += 1
            free -= 1
        }
        for index in links.indices where grants[index] > 0 {
            links[index].granted += grants[index]
            send(ready(slots: grants[index]), on: index)
        }
    }

    /// Builds the READY that grants `slots` and names this worker's capacity, model and job kinds.
    private func ready(slots: Int) -> Message {
        .ready(Ready(worker: configuration.name, session: session, slots: slots, capacity: configuration.concurrency,
                     modelVersion: configuration.modelVersion, kinds: handlers.keys.sorted()))
    }

    private func load(of index: Int) -> Int {
        links[index].granted + running.values.filter { $0.link == index }.count
    }

    private func sendHeartbeats() {
        for index in links.indices {
            // An abandoned attempt no longer needs its lease; its handler stops at its next check.
            let attempts = running.filter { $0.value.link == index && !$0.value.abandoned.isSet }.map(\.key)
            send(.heartbeat(Heartbeat(sender: configuration.name, session: session, running: attempts)), on: index)
        }
    }

    private func markSilentCoordinatorsGone() {
        let deadline = ContinuousClock.now - configuration.heartbeatInterval * configuration.missedHeartbeats
        for index in links.indices where links[index].isAlive && links[index].lastHeard < deadline {
            links[index].isAlive = false
            links[index].granted = 0
            logger.warning("coordinator unreachable", ["coordinator": links[index].endpoint,
                                                       "missed_heartbeats": configuration.missedHeartbeats])
        }
    }

    // MARK: Sending

    func send(_ message: Message, attachments: [Attachment] = [], on index: Int) {
        if !links[index].socket.send(Envelope(message, attachments: attachments).encode()) {
            logger.warning("message to coordinator not queued", ["coordinator": links[index].endpoint, "type": message.name])
        }
    }
}

/// The worker's connection to one coordinator.
struct CoordinatorLink {
    let endpoint: String
    let socket: Socket
    /// True while messages arrive within the heartbeat timeout.
    var isAlive = false
    var lastHeard = ContinuousClock.now
    /// Slots granted with READY and not yet used by a JOB.
    var granted = 0
    /// Set by BYE: the coordinator is stopping, and only a hello from its successor revives the link.
    var saidBye = false
    /// The coordinator's session ID from its last heartbeat.
    var coordinatorSession: String?
}

/// A protocol error with the coordinator endpoint it came from, for logs.
struct CoordinatorMessageError: Error, CustomStringConvertible {
    let endpoint: String
    let underlying: Error
    var description: String { "coordinator \(endpoint): \(underlying)" }
}
