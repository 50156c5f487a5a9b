// The database options shared by every command that talks to PostgreSQL.
import Foundation
import JobStore

struct DatabaseOptions {
    var configuration: Connection.Configuration

    static let defaultURL = "postgresql://postgres@127.0.0.1:54329/stdnet"

    /// Reads `--database` (env STDNET_DATABASE_URL) and `--statement-timeout` (seconds). Without
    /// either, the private cluster of `stdnet database` is used, on STDNET_DATABASE_PORT if set.
    static func parse(_ arguments: inout Arguments) throws -> DatabaseOptions {
        let url = try arguments.option("database", environment: "STDNET_DATABASE_URL") ?? defaultURL
        if url == defaultURL, let port = ProcessInfo.processInfo.environment["STDNET_DATABASE_PORT"], !port.isEmpty {
            return try parse(url: "postgresql://postgres@127.0.0.1:\(port)/stdnet", &arguments)
        }
        return try parse(url: url, &arguments)
    }

    private static func parse(url: String, _ arguments: inout Arguments) throws -> DatabaseOptions {
        let timeout = try arguments.seconds("statement-timeout", environment: "STDNET_STATEMENT_TIMEOUT", default: .seconds(30))
        // A command line gives up after 5 s instead of the 30 s a service waits for a restarting server.
        return DatabaseOptions(configuration: Connection.Configuration(conninfo: url, statementTimeout: timeout, reconnectTimeout: .seconds(5)))
    }
}
