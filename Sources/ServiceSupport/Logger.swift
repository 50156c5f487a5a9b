// One-line structured logs on standard error: a short message followed by key=value pairs,
// or one JSON object per line. Values are internal IDs and counts, never patient attributes.
import Foundation

/// Severity of a log line.
public enum LogLevel: Int, Comparable, Sendable, CaseIterable {
    case debug, info, warning, error

    public var name: String {
        switch self {
        case .debug: "debug"
        case .info: "info"
        case .warning: "warning"
        case .error: "error"
        }
    }

    public init?(name: String) {
        guard let level = LogLevel.allCases.first(where: { $0.name == name }) else { return nil }
        self = level
    }

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Writes log lines for one component; safe to use from any thread.
public struct Logger: Sendable {
    public enum Format: String, Sendable { case text, json }

    public let component: String
    public let minimumLevel: LogLevel
    public let format: Format

    public init(component: String, minimumLevel: LogLevel = .info, format: Format = .text) {
        self.component = component
        self.minimumLevel = minimumLevel
        self.format = format
    }

    public func debug(_ message: String, _ fields: KeyValuePairs<String, Any> = [:]) { log(.debug, message, fields) }
    public func info(_ message: String, _ fields: KeyValuePairs<String, Any> = [:]) { log(.info, message, fields) }
    public func warning(_ message: String, _ fields: KeyValuePairs<String, Any> = [:]) { log(.warning, message, fields) }
    public func error(_ message: String, _ fields: KeyValuePairs<String, Any> = [:]) { log(.error, message, fields) }

    public func log(_ level: LogLevel, _ message: String, _ fields: KeyValuePairs<String, Any>) {
        guard level >= minimumLevel else { return }
        let time = Date().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
        let line: String
        switch format {
        case .text:
            let pairs = fields.map { "\($0.key)=\(quotedIfNeeded(String(describing: $0.value)))" }
            line = ([time, level.name, component, message] + pairs).joined(separator: " ")
        case .json:
            var object: [String: String] = ["time": time, "level": level.name, "component": component, "message": message]
            for (key, value) in fields { object[key] = String(describing: value) }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            line = String(decoding: data, as: UTF8.self)
        }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

private func quotedIfNeeded(_ value: String) -> String {
    guard value.isEmpty || value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }) else { return value }
    return "\"" + value.replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n") + "\""
}
