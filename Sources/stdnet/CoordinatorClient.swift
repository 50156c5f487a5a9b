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

    /// Sends `message` and returns the reply; an ERROR reply becomes a thrown error.
    func request(_ message: Message, attachments: [Attachment] = [], timeout requestTimeout: Duration? = nil) throws -> Message {
        try exchange(message, attachments: attachments, timeout: requestTimeout).message
    }

    /// Sends a request and returns the whole reply, attachments included.
    func exchange(_ message: Message, attachments: [Attachment] = [], timeout requestTimeout: Duration? = nil) throws -> Envelope {
        let timeout = requestTimeout ?? self.timeout
        guard socket.send(Envelope(message, attachments: attachments).encode()) else {
            throw ClientError("could not queue the request for the coordinator at \(endpoint)")
        }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            _ = try poll([.socket(socket)], timeout: min(deadline - ContinuousClock.now, .milliseconds(200)))
            guard let frames = try socket.receive() else { continue }
            let reply = try Envelope.decode(frames)
            // A late reply to an earlier request that timed out is not the reply to this request.
            if let expected = requestID(of: message), let answered = requestID(of: reply.message), answered != expected { continue }
            if case .error(let error) = reply.message { throw ClientError("the coordinator rejected the request: \(error.message)") }
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

struct ClientError: Error, CustomStringConvertible {
    let description: String
    /// True when no reply came within the timeout.
    let timedOut: Bool

    init(_ description: String, timedOut: Bool = false) {
        self.description = description
        self.timedOut = timedOut
    }
}

let clientUsage = """
      --coordinator URL   the coordinator's client endpoint (env STDNET_CLIENT_ENDPOINT; default \(Endpoints.client))
      --timeout SECONDS   how long to wait for each reply (default 10; submit: 300 for SUBMIT_STUDY, at most 60 for each UPLOAD_PART)
    """

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
