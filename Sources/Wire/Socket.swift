// ZeroMQ sockets as used by stdnet: ROUTER at the coordinator, DEALER at workers and clients,
// multipart messages, and polling together with plain file descriptors.
import CZeroMQ
import Foundation

/// Errors from ZeroMQ calls, with the call and endpoint involved.
public struct SocketError: Error, CustomStringConvertible {
    public let description: String

    init(_ operation: String) {
        description = "\(operation) failed: \(String(cString: zmq_strerror(zmq_errno())))"
    }
}

/// The process-wide ZeroMQ context.
final class ZeroMQContext: @unchecked Sendable {
    static let shared = ZeroMQContext()
    let handle: UnsafeMutableRawPointer = zmq_ctx_new()
}

/// Waits until every closed socket has delivered its queued messages or reached its linger
/// time, then ends ZeroMQ for this process. Every socket must be closed first, or this blocks.
public func shutDownZeroMQ() {
    zmq_ctx_term(ZeroMQContext.shared.handle)
}

/// A ZeroMQ socket. Not thread-safe: each socket belongs to one thread.
public final class Socket {
    public enum Kind {
        case router, dealer

        var zeroMQType: Int32 { self == .router ? ZMQ_ROUTER : ZMQ_DEALER }
    }

    /// Largest frame accepted from a peer; a peer that sends a larger one is disconnected by
    /// ZeroMQ before the frame reaches the application.
    public static let maximumFrameSize = 4 * 1024 * 1024

    let handle: UnsafeMutableRawPointer
    private var isClosed = false

    /// Creates a socket; `identity` sets the routing ID a DEALER shows to a ROUTER.
    public init(_ kind: Kind, identity: String? = nil) throws {
        guard let handle = zmq_socket(ZeroMQContext.shared.handle, kind.zeroMQType) else {
            throw SocketError("zmq_socket")
        }
        self.handle = handle
        try setOption(ZMQ_LINGER, 0)
        try setOption64(ZMQ_MAXMSGSIZE, Int64(Socket.maximumFrameSize + 1024))
        try setOption(ZMQ_SNDHWM, 100_000)
        try setOption(ZMQ_RCVHWM, 100_000)
        if kind == .router {
            // Sending to a peer that is gone fails instead of being dropped silently.
            try setOption(ZMQ_ROUTER_MANDATORY, 1)
            // A peer reconnecting under its routing ID (a restarted worker) takes over from the
            // old connection instead of being refused while that one lingers.
            try setOption(ZMQ_ROUTER_HANDOVER, 1)
        }
        if let identity {
            let bytes = Array(identity.utf8)
            guard zmq_setsockopt(handle, ZMQ_ROUTING_ID, bytes, bytes.count) == 0 else {
                throw SocketError("setting the routing ID")
            }
        }
    }

    deinit { close() }

    /// Closes the socket; queued messages are still delivered for up to the linger time.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        zmq_close(handle)
    }

    /// Sets the reconnect backoff of a connecting socket: from `initial`, doubling up to `maximum`.
    public func setReconnectInterval(initial: Duration, maximum: Duration) throws {
        try setOption(ZMQ_RECONNECT_IVL, Int32(initial.milliseconds))
        try setOption(ZMQ_RECONNECT_IVL_MAX, Int32(maximum.milliseconds))
    }

    /// Sets how long closing the socket may wait to deliver queued messages.
    public func setLinger(_ duration: Duration) {
        var value = Int32(duration.milliseconds)
        zmq_setsockopt(handle, ZMQ_LINGER, &value, MemoryLayout<Int32>.size)
    }

    public func bind(_ endpoint: String) throws {
        guard zmq_bind(handle, endpoint) == 0 else { throw SocketError("binding \(endpoint)") }
    }

    public func connect(_ endpoint: String) throws {
        guard zmq_connect(handle, endpoint) == 0 else { throw SocketError("connecting to \(endpoint)") }
    }

    /// The endpoint actually bound, useful after binding to port 0 or `*`.
    public var lastEndpoint: String {
        var buffer = [UInt8](repeating: 0, count: 256)
        var size = buffer.count
        zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size)
        return String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
    }

    // MARK: Messages

    /// Sends all frames as one multipart message without blocking. Returns false when the peer
    /// is unknown or unreachable or its queue is full; the message is then dropped.
    @discardableResult
    public func send(_ frames: [Data]) -> Bool {
        for (index, frame) in frames.enumerated() {
            let flags = ZMQ_DONTWAIT | (index < frames.count - 1 ? ZMQ_SNDMORE : 0)
            let sent = frame.withUnsafeBytes { bytes in
                zmq_send(handle, bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, bytes.count, flags)
            }
            // A failure after the first frame cannot happen for ROUTER and DEALER: ZeroMQ queues
            // a multipart message atomically once its first frame is accepted.
            if sent < 0 { return false }
        }
        return true
    }

    /// Receives one multipart message without blocking, or returns nil when none is waiting.
    public func receive() throws -> [Data]? {
        var frames: [Data] = []
        repeat {
            var message = zmq_msg_t()
            zmq_msg_init(&message)
            defer { zmq_msg_close(&message) }
            let flags = frames.isEmpty ? ZMQ_DONTWAIT : 0
            guard zmq_msg_recv(&message, handle, flags) >= 0 else {
                if zmq_errno() == EAGAIN && frames.isEmpty { return nil }
                throw SocketError("zmq_msg_recv")
            }
            frames.append(Data(bytes: zmq_msg_data(&message), count: zmq_msg_size(&message)))
            if zmq_msg_more(&message) == 0 { break }
        } while true
        return frames
    }

    private func setOption(_ option: Int32, _ value: Int32) throws {
        var value = value
        guard zmq_setsockopt(handle, option, &value, MemoryLayout<Int32>.size) == 0 else {
            throw SocketError("zmq_setsockopt \(option)")
        }
    }

    private func setOption64(_ option: Int32, _ value: Int64) throws {
        var value = value
        guard zmq_setsockopt(handle, option, &value, MemoryLayout<Int64>.size) == 0 else {
            throw SocketError("zmq_setsockopt \(option)")
        }
    }
}

/// Something to wait on in ``poll(_:timeout:)``: a socket or a plain file descriptor.
public enum PollItem {
    case socket(Socket)
    case descriptor(Int32)
}

/// Waits until one of the items is readable or `timeout` passes; returns which are readable.
public func poll(_ items: [PollItem], timeout: Duration) throws -> [Bool] {
    var raw = items.map { item -> zmq_pollitem_t in
        switch item {
        case .socket(let socket):
            return zmq_pollitem_t(socket: socket.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)
        case .descriptor(let descriptor):
            return zmq_pollitem_t(socket: nil, fd: descriptor, events: Int16(ZMQ_POLLIN), revents: 0)
        }
    }
    let result = zmq_poll(&raw, Int32(raw.count), timeout.milliseconds)
    if result < 0 {
        if zmq_errno() == EINTR { return Array(repeating: false, count: items.count) }
        throw SocketError("zmq_poll")
    }
    return raw.map { $0.revents & Int16(ZMQ_POLLIN) != 0 }
}

extension Duration {
    /// Whole milliseconds, rounded towards zero.
    public var milliseconds: Int {
        Int(self / .milliseconds(1))
    }
}
