// The database options shared by every command that talks to PostgreSQL.
import JobStore

struct DatabaseOptions {
    var configuration: Connection.Configuration

    static let defaultURL = "postgresql://postgres@127.0.0.1:54329/stdnet"

    /// Reads `--database` (env STDNET_DATABASE_URL) and `--statement-timeout` (seconds).
    static func parse(_ arguments: inout Arguments) throws -> DatabaseOptions {
        let url = try arguments.option("database", environment: "STDNET_DATABASE_URL") ?? defaultURL
        let timeout = try arguments.seconds("statement-timeout", environment: "STDNET_STATEMENT_TIMEOUT", default: .seconds(30))
        return DatabaseOptions(configuration: Connection.Configuration(conninfo: url, statementTimeout: timeout))
    }
}
