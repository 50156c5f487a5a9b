// Options shared by the service and client commands.
import Foundation
import ServiceSupport

enum Endpoints {
    static let worker = "tcp://127.0.0.1:5555"
    static let client = "tcp://127.0.0.1:5556"
}

/// Reads `--log-level` (env STDNET_LOG_LEVEL) and `--log-format` (env STDNET_LOG_FORMAT).
func parseLogger(_ arguments: inout Arguments, component: String) throws -> Logger {
    let levelName = try arguments.option("log-level", environment: "STDNET_LOG_LEVEL") ?? "info"
    guard let level = LogLevel(name: levelName) else {
        throw UsageError("--log-level must be debug, info, warning or error, got '\(levelName)'")
    }
    let formatName = try arguments.option("log-format", environment: "STDNET_LOG_FORMAT") ?? "text"
    guard let format = Logger.Format(rawValue: formatName) else {
        throw UsageError("--log-format must be text or json, got '\(formatName)'")
    }
    return Logger(component: component, minimumLevel: level, format: format)
}

let loggingUsage = """
      --log-level LEVEL          debug, info, warning or error (env STDNET_LOG_LEVEL; default info)
      --log-format FORMAT        text or json (env STDNET_LOG_FORMAT; default text)
    """
