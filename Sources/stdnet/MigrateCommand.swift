// `stdnet migrate`: applies pending schema migrations.
import Foundation
import JobStore

enum MigrateCommand: Command {
    static let name = "migrate"
    static let summary = "apply pending database migrations (safe to run again)"
    static let usage = """
        usage: stdnet migrate [--database URL] [--migrations DIR]

          --database URL     PostgreSQL connection string (env STDNET_DATABASE_URL; default the private
                             cluster of 'stdnet database', postgresql://postgres@127.0.0.1:54329/stdnet,
                             on the port in STDNET_DATABASE_PORT if set)
          --migrations DIR   folder of NNNN_name.sql files (env STDNET_MIGRATIONS; default ./Migrations)
        """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        let database = try DatabaseOptions.parse(&arguments)
        let folder = try arguments.option("migrations", environment: "STDNET_MIGRATIONS") ?? "Migrations"
        try arguments.finish()

        guard FileManager.default.fileExists(atPath: folder) else {
            throw UsageError("migrations folder '\(folder)' not found; run from the stdnet source folder or give --migrations DIR (env STDNET_MIGRATIONS)")
        }
        let migrations = try Migrator.loadMigrations(from: URL(fileURLWithPath: folder))
        let connection = try Connection(database.configuration)
        let report = try Migrator(connection: connection, migrations: migrations).migrate()
        for migration in report.applied {
            print("applied \(migration.name)")
        }
        print("schema up to date: \(report.applied.count) applied, \(report.alreadyApplied) already applied")
        return 0
    }
}
