// A libpq connection that runs parameterised statements, reconnects after the server restarts
// and delivers LISTEN/NOTIFY notifications.
import CLibPQ
import Foundation

/// A value sent as a query parameter. Every statement in this module passes input this way and
/// never splices it into SQL text.
public protocol SQLParameter {
    /// The value in PostgreSQL's text input format.
    var sqlText: String { get }
}

extension String: SQLParameter { public var sqlText: String { self } }
extension Int: SQLParameter { public var sqlText: String { String(self) } }
extension Int32: SQLParameter { public var sqlText: String { String(self) } }
extension Int64: SQLParameter { public var sqlText: String { String(self) } }
extension Double: SQLParameter { public var sqlText: String { String(self) } }
extension Bool: SQLParameter { public var sqlText: String { self ? "t" : "f" } }

/// A statement prepared once per server session and then run by name, which saves the parse
/// and plan on every call of the queue's hot paths.
public struct PreparedStatement: Sendable {
    public let name: String
    public let sql: String

    public init(name: String, sql: String) {
        self.name = name
        self.sql = sql
    }
}

/// A notification received on a channel this connection listens to.
public struct Notification: Sendable, Equatable {
    public let channel: String
    public let payload: String
    public let senderProcessID: Int32
}

/// A connection to PostgreSQL through libpq.
///
/// Not thread-safe: use one connection per thread. When the server goes away, the statement that
/// was running fails with ``JobStoreError/connectionLost(_:)`` and the next call reconnects, retrying
/// with backoff for up to ``Configuration/reconnectTimeout``. After a reconnect the session settings,
/// prepared statements and LISTEN registrations are restored.
public final class Connection {
    public struct Configuration: Sendable {
        /// A libpq connection string: `postgresql://user@host:port/db` or `host=... dbname=...`.
        public var conninfo: String
        /// Server-side limit for any one statement; 0 disables it.
        public var statementTimeout: Duration
        /// How long a call keeps trying to reconnect before it fails.
        public var reconnectTimeout: Duration
        /// Shown in `pg_stat_activity.application_name`.
        public var applicationName: String
        /// Whether a commit waits for its WAL record to reach disk. Off suits statements whose
        /// loss in a server crash is harmless, such as claims and lease extensions, which then
        /// just expire: it saves a disk flush per statement.
        public var synchronousCommit: Bool = true

        public init(
            conninfo: String,
            statementTimeout: Duration = .seconds(30),
            reconnectTimeout: Duration = .seconds(30),
            applicationName: String = "stdnet"
        ) {
            self.conninfo = conninfo
            self.statementTimeout = statementTimeout
            self.reconnectTimeout = reconnectTimeout
            self.applicationName = applicationName
        }
    }

    public let configuration: Configuration
    private var handle: OpaquePointer?
    private var preparedNames: Set<String> = []
    private var listenChannels: [String] = []
    private var transactionDepth = 0

    /// Connects, retrying for up to `reconnectTimeout` while the server is starting.
    public init(_ configuration: Configuration) throws {
        self.configuration = configuration
        try reconnect()
    }

    public convenience init(conninfo: String) throws {
        try self.init(Configuration(conninfo: conninfo))
    }

    deinit {
        if let handle { PQfinish(handle) }
    }

    /// Whether the connection to the server is currently up.
    public var isConnected: Bool {
        guard let handle else { return false }
        return PQstatus(handle) == CONNECTION_OK
    }

    // MARK: Statements

    /// Runs one parameterised statement and returns its rows.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [(any SQLParameter)?] = []) throws -> QueryResult {
        try ensureConnected()
        let result = withParameterPointers(parameters) { values, count in
            PQexecParams(handle, sql, count, nil, values, nil, nil, 0)
        }
        return try check(result, statement: sql)
    }

    /// Runs a script of several statements separated by semicolons, with no parameters: schema
    /// migrations. Input must never reach this method.
    public func executeScript(_ sql: String) throws {
        try ensureConnected()
        _ = try check(PQexec(handle, sql), statement: sql)
    }

    /// Runs a prepared statement, preparing it first if this server session has not seen it.
    @discardableResult
    public func execute(_ statement: PreparedStatement, _ parameters: [(any SQLParameter)?] = []) throws -> QueryResult {
        try ensureConnected()
        if !preparedNames.contains(statement.name) {
            let prepared = PQprepare(handle, statement.name, statement.sql, Int32(parameters.count), nil)
            _ = try check(prepared, statement: statement.sql)
            preparedNames.insert(statement.name)
        }
        let result = withParameterPointers(parameters) { values, count in
            PQexecPrepared(handle, statement.name, count, values, nil, nil, 0)
        }
        return try check(result, statement: statement.name)
    }

    /// Runs `body` inside BEGIN/COMMIT, rolling back when it throws.
    ///
    /// Nested calls join the outer transaction. A lost connection aborts the whole transaction
    /// with ``JobStoreError/connectionLost(_:)``; the caller may run it again from the start.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        if transactionDepth > 0 {
            return try body()
        }
        try execute("BEGIN")
        transactionDepth = 1
        defer { transactionDepth = 0 }
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            if isConnected { _ = try? execute("ROLLBACK") }
            throw error
        }
    }

    // MARK: Notifications

    /// Subscribes to a channel; the subscription survives reconnects.
    public func listen(_ channel: String) throws {
        try execute("LISTEN \(quotedIdentifier(channel))")
        if !listenChannels.contains(channel) { listenChannels.append(channel) }
    }

    /// Waits up to `timeout` for a notification and returns it, or nil when none arrived.
    ///
    /// Notifications that arrived earlier are returned at once. A lost connection is reported as
    /// ``JobStoreError/connectionLost(_:)``; the next call reconnects and listens again.
    public func waitForNotification(timeout: Duration) throws -> Notification? {
        try ensureConnected()
        if let pending = nextNotification() { return pending }

        var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(clamping: Int64(timeout / .milliseconds(1)))
        let ready = poll(&descriptor, 1, milliseconds)
        guard ready > 0 else { return nil }
        guard PQconsumeInput(handle) == 1 else {
            throw JobStoreError.connectionLost(errorMessage())
        }
        return nextNotification()
    }

    /// The socket of the server connection, for waiting on notifications in an event loop;
    /// -1 while disconnected.
    public var socketDescriptor: Int32 {
        guard let handle, isConnected else { return -1 }
        return PQsocket(handle)
    }

    /// Returns the notifications that have arrived, without waiting; reconnects first if needed.
    public func receiveNotifications() throws -> [Notification] {
        try ensureConnected()
        guard PQconsumeInput(handle) == 1 else {
            throw JobStoreError.connectionLost(errorMessage())
        }
        var notifications: [Notification] = []
        while let notification = nextNotification() { notifications.append(notification) }
        return notifications
    }

    private func nextNotification() -> Notification? {
        guard let raw = PQnotifies(handle) else { return nil }
        defer { PQfreemem(raw) }
        return Notification(
            channel: String(cString: raw.pointee.relname),
            payload: String(cString: raw.pointee.extra),
            senderProcessID: raw.pointee.be_pid
        )
    }

    // MARK: Connecting

    private func ensureConnected() throws {
        if transactionDepth == 0 { readWhatArrivedWhileIdle() }
        if isConnected { return }
        if transactionDepth > 0 {
            throw JobStoreError.connectionLost("the connection dropped inside a transaction")
        }
        try reconnect()
    }

    /// Reads, without blocking, what the server sent while the connection was idle. A server that
    /// ended the session (a restart, an administrator's command) has sent its reason and closed
    /// the socket, so reading both marks the connection closed and the next statement reopens it
    /// instead of failing. libpq sees the close only on a read that finds no other data, which is
    /// why a second read follows. Notifications read here stay queued for ``receiveNotifications()``.
    private func readWhatArrivedWhileIdle() {
        guard let handle else { return }
        for _ in 0..<3 where PQstatus(handle) == CONNECTION_OK {
            var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 0) > 0 else { return }
            _ = PQconsumeInput(handle)
        }
    }

    private func reconnect() throws {
        let clock = ContinuousClock()
        let deadline = clock.now + configuration.reconnectTimeout
        var delay = Duration.milliseconds(50)
        while true {
            if let handle { PQfinish(handle) }
            handle = PQconnectdb(configuration.conninfo)
            if PQstatus(handle) == CONNECTION_OK {
                PQsetNoticeProcessor(handle, forwardNotice, nil)
                preparedNames.removeAll()
                try configureSession()
                return
            }
            let message = errorMessage()
            guard clock.now + delay < deadline else {
                let redacted = RedactedConninfo(configuration.conninfo)
                throw JobStoreError.connectionFailed("could not connect to PostgreSQL at \(redacted.text): \(redacted.scrub(message))")
            }
            Thread.sleep(forTimeInterval: delay / .seconds(1))
            delay = min(delay * 2, .seconds(1))
        }
    }

    private func configureSession() throws {
        let timeoutMilliseconds = Int64(configuration.statementTimeout / .milliseconds(1))
        try execute("""
            SELECT set_config('statement_timeout', $1, false), set_config('application_name', $2, false),
                   set_config('client_min_messages', 'warning', false), set_config('synchronous_commit', $3, false)
            """,
                    [String(timeoutMilliseconds), configuration.applicationName, configuration.synchronousCommit ? "on" : "off"])
        for channel in listenChannels {
            try execute("LISTEN \(quotedIdentifier(channel))")
        }
    }

    // MARK: Results

    private func check(_ result: OpaquePointer?, statement: String) throws -> QueryResult {
        guard let result else {
            throw JobStoreError.connectionLost(errorMessage())
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return QueryResult(copying: result)
        default:
            if PQstatus(handle) != CONNECTION_OK {
                throw JobStoreError.connectionLost(errorMessage())
            }
            let sqlState = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) } ?? ""
            let message = PQresultErrorMessage(result).map { String(cString: $0) } ?? "unknown error"
            throw JobStoreError.server(sqlState: sqlState, message: message.trimmingCharacters(in: .whitespacesAndNewlines),
                                       statement: statement)
        }
    }

    private func errorMessage() -> String {
        guard let handle, let text = PQerrorMessage(handle) else { return "no connection" }
        return String(cString: text).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Calls `body` with C string pointers for the parameters; nil parameters become SQL NULL.
private func withParameterPointers<R>(
    _ parameters: [(any SQLParameter)?],
    _ body: (UnsafePointer<UnsafePointer<CChar>?>?, Int32) -> R
) -> R {
    let strings: [UnsafeMutablePointer<CChar>?] = parameters.map { $0.map { strdup($0.sqlText) } }
    defer { strings.forEach { free($0) } }
    let pointers = strings.map { UnsafePointer($0) }
    return pointers.withUnsafeBufferPointer { buffer in
        body(buffer.baseAddress, Int32(parameters.count))
    }
}

/// Quotes a channel name as an SQL identifier; LISTEN takes no parameters.
private func quotedIdentifier(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

/// A connection string with every password replaced by ***, so that it can appear in messages.
///
/// Follows libpq's two forms. A URI (postgresql:// or postgres://) carries the password in
/// `user:password@` and in `password=` or `sslpassword=` query parameters. In a key=value
/// string the value may be single-quoted, and a backslash escapes the next character, quoted or
/// not. libpq's own error messages can quote part of a malformed value, for example a URI
/// password with an unescaped '/', so ``scrub(_:)`` masks the passwords' pieces in them too.
struct RedactedConninfo {
    let text: String
    /// The passwords as they appear in the connection string.
    private let secrets: [String]

    init(_ conninfo: String) {
        var secrets: [String] = []
        var text = conninfo
        let lowercased = conninfo.trimmingCharacters(in: .whitespaces).lowercased()
        if lowercased.hasPrefix("postgresql://") || lowercased.hasPrefix("postgres://"), let scheme = conninfo.range(of: "://") {
            // The user information ends at the last '@': a password may contain '/', '?' or '@'
            // that its writer did not percent-encode, and libpq accepts some of them. A '@' in
            // the query makes more than the password masked, which is the safe side.
            if let at = conninfo[scheme.upperBound...].lastIndex(of: "@") {
                if let colon = conninfo[scheme.upperBound..<at].firstIndex(of: ":") {
                    secrets.append(String(conninfo[conninfo.index(after: colon)..<at]))
                    text = String(conninfo[..<conninfo.index(after: colon)]) + "***" + String(conninfo[at...])
                }
            } else if let colon = conninfo[scheme.upperBound...].firstIndex(of: ":") {
                // Without '@', libpq reads "user:password" as host and port: a port that is not a
                // number may be a password.
                let port = conninfo[conninfo.index(after: colon)...].prefix { !"/?,".contains($0) }
                if !port.isEmpty, !port.allSatisfy(\.isNumber) {
                    secrets.append(String(port))
                    text = String(conninfo[..<conninfo.index(after: colon)]) + "***" + String(conninfo[port.endIndex...])
                }
            }
            (text, secrets) = Self.mask(#"(?i)([?&](?:ssl)?password=)([^&]*)"#, in: text, secrets: secrets)
        } else {
            // Any key that starts with "password" or "sslpassword", in any case, since a
            // misspelt key is quoted back by libpq with its value. An unterminated quote is masked
            // to the end of the string.
            let value = #"('(?:[^'\\]|\\.)*'?|(?:[^\s'\\]|\\.)(?:[^\s\\]|\\.)*)"#
            (text, secrets) = Self.mask(#"(?i)(\b(?:ssl)?password\w*\s*=\s*)"# + value, in: text, secrets: secrets)
            text = text.replacingOccurrences(of: #"(?i)\b((?:ssl)?password\w*)\s*=\s*\*\*\*"#, with: "$1=***", options: .regularExpression)
        }
        self.text = text
        self.secrets = secrets.filter { !$0.isEmpty }
    }

    /// Replaces every match's second group with *** and collects what it replaced.
    private static func mask(_ pattern: String, in text: String, secrets: [String]) -> (String, [String]) {
        let expression = try! NSRegularExpression(pattern: pattern)
        var secrets = secrets
        var result = text
        for match in expression.matches(in: text, range: NSRange(text.startIndex..., in: text)).reversed() {
            guard let prefix = Range(match.range(at: 1), in: text), let value = Range(match.range(at: 2), in: text) else { continue }
            secrets.append(String(text[value]))
            result.replaceSubrange(prefix.lowerBound..<value.upperBound, with: text[prefix] + "***")
        }
        return (result, secrets)
    }

    /// Masks the passwords, and their pieces between URI delimiters, in a message from libpq.
    func scrub(_ message: String) -> String {
        var message = message
        for secret in secrets {
            let pieces = [secret] + secret.split(whereSeparator: { "/@:?&=' \\".contains($0) }).map(String.init)
            for piece in pieces.sorted(by: { $0.count > $1.count }) where piece.count >= 2 {
                message = message.replacingOccurrences(of: piece, with: "***")
            }
        }
        return message
    }
}

/// Receives the server's notices and warnings (and the FATAL message of a server that shuts
/// down) for every connection. libpq's default writes them to standard error as they are, with
/// no timestamp; a service sets a handler that logs them. Without one they go to standard error.
public enum PostgresNotices {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var storedHandler: (@Sendable (String) -> Void)?

    /// The function each notice goes to, its trailing newline removed.
    public static var handler: (@Sendable (String) -> Void)? {
        get { lock.withLock { storedHandler } }
        set { lock.withLock { storedHandler = newValue } }
    }

    static func deliver(_ message: String) {
        let text = message.trimmingCharacters(in: .newlines)
        if let handler {
            handler(text)
        } else {
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
    }
}

/// libpq's notice processor: hands each notice to ``PostgresNotices``.
private func forwardNotice(_ argument: UnsafeMutableRawPointer?, _ message: UnsafePointer<CChar>?) {
    guard let message else { return }
    PostgresNotices.deliver(String(cString: message))
}
