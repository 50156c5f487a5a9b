// A request-reply client of the coordinator's client endpoint.
import Foundation
import Wire

/// Sends one request at a time to a coordinator and waits for its reply.
final class CoordinatorClient {
    let endpoint: String
    let timeout: Duration
    private let socket: Socket

    init(endpoint: String, timeout: Duration) throws {
        self.endpoint = endpoint
        self.timeout = timeout
        socket = try Socket(.dealer)
        try socket.connect(endpoint)
    }

    /// Sends `message` and returns the reply; an ERROR reply becomes a thrown error. With
    /// `session`, see ``exchange(_:attachments:timeout:watching:)``.
    func request(_ message: Message, attachments: [Attachment] = [], timeout requestTimeout: Duration? = nil,
                 watching session: String? = nil) throws -> Message {
        try exchange(message, attachments: attachments, timeout: requestTimeout, watching: session).message
    }

    /// How often a request that watches the coordinator's session sends STATUS while it waits.
    static let probeInterval: Duration = .seconds(5)

    /// Returns the coordinator's session ID, new at each start; nil from a coordinator older
    /// than that field.
    func coordinatorSession() throws -> String? {
        let reply = try request(.status(StatusRequest(request: UUID().uuidString)), timeout: min(timeout, .seconds(10)))
        guard case .statusReply(let status) = reply else { throw ClientError("unexpected reply \(reply.name) to STATUS") }
        return status.session
    }

    /// Sends a request and returns the whole reply, attachments included.
    ///
    /// With `session`, the coordinator's session before the request, a STATUS goes out every
    /// ``probeInterval`` while no reply has come. A STATUS reply with another session throws
    /// ``CoordinatorRestarted``, because a restarted coordinator has lost the request.
    func exchange(_ message: Message, attachments: [Attachment] = [], timeout requestTimeout: Duration? = nil,
                  watching session: String? = nil) throws -> Envelope {
        let timeout = requestTimeout ?? self.timeout
        guard socket.send(Envelope(message, attachments: attachments).encode()) else {
            throw ClientError("could not queue the request for the coordinator at \(endpoint)")
        }
        let deadline = ContinuousClock.now + timeout
        var nextProbe = ContinuousClock.now + Self.probeInterval
        var probe: String?
        while ContinuousClock.now < deadline {
            if session != nil, probe == nil, ContinuousClock.now >= nextProbe {
                let id = UUID().uuidString
                if socket.send(Envelope(.status(StatusRequest(request: id))).encode()) { probe = id }
                nextProbe = ContinuousClock.now + Self.probeInterval
            }
            _ = try poll([.socket(socket)], timeout: min(deadline - ContinuousClock.now, .milliseconds(200)))
            guard let frames = try socket.receive() else { continue }
            let reply = try Envelope.decode(frames)
            let answered = requestID(of: reply.message)
            if let probeID = probe, answered == probeID {
                probe = nil
                if case .statusReply(let status) = reply.message, let current = status.session, current != session {
                    throw CoordinatorRestarted()
                }
                continue
            }
            // A late reply to an earlier request that timed out is not the reply to this request.
            if let expected = requestID(of: message), let answered, answered != expected { continue }
            if case .error(let error) = reply.message {
                throw ClientError("the coordinator rejected the request: \(error.message)", isRejection: true)
            }
            return reply
        }
        throw ClientError("the coordinator at \(endpoint) did not answer within \(Double(timeout.milliseconds) / 1000) s; is 'stdnet coordinator' running there? (set --coordinator or STDNET_CLIENT_ENDPOINT)",
                          timedOut: true)
    }
}

/// Returns the request ID a message carries, when its type has one.
private func requestID(of message: Message) -> String? {
    switch message {
    case .submitNoop(let body): body.request
    case .submitted(let body): body.request
    case .status(let body): body.request
    case .statusReply(let body): body.request
    case .cancel(let body): body.request
    case .cancelReply(let body): body.request
    case .retry(let body): body.request
    case .retryReply(let body): body.request
    case .submitStudy(let body): body.request
    case .studySubmitted(let body): body.request
    case .history(let body): body.request
    case .historyReply(let body): body.request
    case .error(let body): body.request
    case .export(let body): body.request
    case .exportReply(let body): body.request
    case .uploadPart(let body): body.request
    case .uploadAcknowledgement(let body): body.request
    default: nil
    }
}

/// A coordinator that replied with a new session ID while a request waited: it restarted, and
/// the request is lost.
struct CoordinatorRestarted: Error, CustomStringConvertible {
    var description: String { "the coordinator restarted while the request waited, and lost it; run the command again" }
}

struct ClientError: Error, CustomStringConvertible {
    let description: String
    /// True when no reply came within the timeout.
    let timedOut: Bool
    /// True when the coordinator replied with an ERROR message.
    let isRejection: Bool

    init(_ description: String, timedOut: Bool = false, isRejection: Bool = false) {
        self.description = description
        self.timedOut = timedOut
        self.isRejection = isRejection
    }
}

/// Returns the help of the options that every client command takes, with the command's own
/// default of `--timeout`.
func clientUsage(timeout: String = "default 10") -> String {
    """
      --coordinator URL   the coordinator's client endpoint (env STDNET_CLIENT_ENDPOINT; default \(Endpoints.client))
      --timeout SECONDS   how long to wait for each reply (\(timeout))
    """
}

func parseClient(_ arguments: inout Arguments, defaultTimeout: Duration = .seconds(10)) throws -> CoordinatorClient {
    let endpoint = try arguments.option("coordinator", environment: "STDNET_CLIENT_ENDPOINT") ?? Endpoints.client
    let timeout = try arguments.seconds("timeout", default: defaultTimeout, positive: true)
    return try CoordinatorClient(endpoint: endpoint, timeout: timeout)
}

/// Reads the user named in the coordinator's audit log: --user, then STDNET_USER, then USER,
/// then the account name (for shells that set no USER).
func auditUser(_ arguments: inout Arguments) throws -> String {
    let environment = ProcessInfo.processInfo.environment
    let account = getpwuid(getuid()).map { String(cString: $0.pointee.pw_name) }
    let user = try arguments.option("user", environment: "STDNET_USER") ?? environment["USER"].flatMap { $0.isEmpty ? nil : $0 } ?? account ?? ""
    guard !user.isEmpty else { throw UsageError("name the user for the audit log with --user or STDNET_USER") }
    return user
}
