import Foundation
import JobStore
import Testing
import TestSupport

@Suite struct MigratorTests {
    @Test func migrateTwiceIsNoOp() throws {
        let url = try TestDatabase.makeEmptyDatabase()
        let connection = try Connection(conninfo: url)
        let migrations = try Migrator.loadMigrations(from: TestDatabase.migrationsFolder)

        let first = try Migrator(connection: connection, migrations: migrations).migrate()
        #expect(first.applied.map(\.version) == migrations.map(\.version))
        let tablesAfterFirst = try connection.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").scalar

        let second = try Migrator(connection: connection, migrations: migrations).migrate()
        #expect(second.applied.isEmpty)
        #expect(second.alreadyApplied == migrations.count)
        #expect(try connection.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").scalar == tablesAfterFirst)
        #expect(try connection.execute("SELECT count(*) FROM schema_migrations").scalar == String(migrations.count))
    }

    @Test func schemaCheckNeedsEveryMigration() throws {
        let connection = try Connection(conninfo: try TestDatabase.makeEmptyDatabase())
        let migrations = try Migrator.loadMigrations(from: TestDatabase.migrationsFolder)
        #expect(migrations.last?.version == Migrator.requiredVersion, "a migration was added without raising requiredVersion")

        func checkMessage() -> String? {
            do {
                try Migrator.checkSchema(on: connection)
                return nil
            } catch {
                return "\(error)"
            }
        }
        #expect(checkMessage()?.contains("has no stdnet schema") == true, "\(checkMessage() ?? "no error")")

        try Migrator(connection: connection, migrations: Array(migrations.prefix(1))).migrate()
        let partial = checkMessage()
        #expect(partial?.contains("has the schema of migration 1, and this build needs migration \(Migrator.requiredVersion)") == true, "\(partial ?? "no error")")
        #expect(partial?.contains("run 'stdnet migrate'") == true)

        try Migrator(connection: connection, migrations: migrations).migrate()
        #expect(checkMessage() == nil)
    }

    @Test func changedAppliedMigrationIsRejected() throws {
        let url = try TestDatabase.makeEmptyDatabase()
        let connection = try Connection(conninfo: url)
        var migrations = try Migrator.loadMigrations(from: TestDatabase.migrationsFolder)
        try Migrator(connection: connection, migrations: migrations).migrate()

        let original = migrations[0]
        migrations[0] = Migration(version: original.version, name: original.name, sql: original.sql + "\n-- edited\n")
        let error = #expect(throws: JobStoreError.self) {
            try Migrator(connection: connection, migrations: migrations).migrate()
        }
        #expect(error?.description.contains("\(original.name).sql was changed after it was applied") == true)
    }

    @Test func newMigrationAppliesAfterOld() throws {
        let url = try TestDatabase.makeEmptyDatabase()
        let connection = try Connection(conninfo: url)
        var migrations = try Migrator.loadMigrations(from: TestDatabase.migrationsFolder)
        try Migrator(connection: connection, migrations: migrations).migrate()

        migrations.append(Migration(version: 9999, name: "9999_extra", sql: "CREATE TABLE extra (x integer)"))
        let report = try Migrator(connection: connection, migrations: migrations).migrate()
        #expect(report.applied.map(\.version) == [9999])
        #expect(try connection.execute("SELECT count(*) FROM extra").scalar == "0")
    }

    @Test func folderWithoutMigrationsRejected() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("stdnet-no-migrations-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let error = #expect(throws: JobStoreError.self) { try Migrator.loadMigrations(from: folder) }
        #expect(error?.description.contains("the migrations folder \(folder.path) contains no NNNN_name.sql files") == true, "\(String(describing: error))")
    }

    @Test func failedMigrationRollsBackAndNamesFile() throws {
        let url = try TestDatabase.makeEmptyDatabase()
        let connection = try Connection(conninfo: url)
        let broken = [Migration(version: 1, name: "0001_broken", sql: "CREATE TABLE a (x integer); CREATE TABLE a (x integer);")]

        let error = #expect(throws: JobStoreError.self) {
            try Migrator(connection: connection, migrations: broken).migrate()
        }
        #expect(error?.description.contains("0001_broken.sql failed") == true)
        #expect(try connection.execute("SELECT to_regclass('a') IS NULL").scalar == "t")
        #expect(try connection.execute("SELECT count(*) FROM schema_migrations").scalar == "0")
    }

    @Test func concurrentMigratorsApplyOnce() throws {
        let url = try TestDatabase.makeEmptyDatabase()
        let migrations = try Migrator.loadMigrations(from: TestDatabase.migrationsFolder)
        try runConcurrently(4) { _ in
            let connection = try Connection(conninfo: url)
            try Migrator(connection: connection, migrations: migrations).migrate()
        }
        let connection = try Connection(conninfo: url)
        #expect(try connection.execute("SELECT count(*) FROM schema_migrations").scalar == String(migrations.count))
    }
}

@Suite struct ConnectionTests {
    @Test func statementTimeoutCancelsSlowStatement() throws {
        let url = try TestDatabase.makeEmptyDatabase()
        let connection = try Connection(Connection.Configuration(conninfo: url, statementTimeout: .milliseconds(200)))
        let error = #expect(throws: JobStoreError.self) { try connection.execute("SELECT pg_sleep(2)") }
        guard case .server(let sqlState, _, _) = error else {
            Issue.record("expected a server error, got \(String(describing: error))")
            return
        }
        // 57014: query_canceled, which PostgreSQL raises when statement_timeout fires.
        #expect(sqlState == "57014")
        #expect(try connection.execute("SELECT 1").scalar == "1")
    }

    @Test func parametersAreNeverSpliced() throws {
        let connection = try Connection(conninfo: try TestDatabase.makeMigratedDatabase())
        let hostile = "P'); DROP TABLE jobs; --"
        try connection.execute("INSERT INTO patients (patient_key) VALUES ($1)", [hostile])
        #expect(try connection.execute("SELECT patient_key FROM patients").scalar == hostile)
        #expect(try connection.execute("SELECT to_regclass('jobs') IS NOT NULL").scalar == "t")
    }

    @Test func unreachableServerFailsWithAddress() throws {
        let configuration = Connection.Configuration(conninfo: "postgresql://postgres@127.0.0.1:\(freePort())/stdnet",
                                                     reconnectTimeout: .milliseconds(300))
        let error = #expect(throws: JobStoreError.self) { try Connection(configuration) }
        #expect(error?.description.contains("could not connect to PostgreSQL at postgresql://postgres@127.0.0.1:") == true)
    }

    /// Every libpq form of a password is masked whole in the connection error, and the
    /// settings around it stay readable.
    @Test func connectionErrorMasksPassword() throws {
        let port = freePort()
        let cases: [(conninfo: String, masked: String)] = [
            ("host=127.0.0.1 port=\(port) password='s3 cret'", "host=127.0.0.1 port=\(port) password=***"),
            (#"host=127.0.0.1 password='it\'s cret' port=\#(port)"#, "host=127.0.0.1 password=*** port=\(port)"),
            ("host=127.0.0.1 password = s3cret port=\(port)", "host=127.0.0.1 password=*** port=\(port)"),
            (#"password=s3\ cret host=127.0.0.1 port=\#(port)"#, "password=*** host=127.0.0.1 port=\(port)"),
            ("postgresql://postgres:s3cret@127.0.0.1:\(port)/stdnet", "postgresql://postgres:***@127.0.0.1:\(port)/stdnet"),
            ("postgresql://:s3cret@127.0.0.1:\(port)/stdnet", "postgresql://:***@127.0.0.1:\(port)/stdnet"),
            ("postgres://postgres@127.0.0.1:\(port)/stdnet?password=s3cret&connect_timeout=2",
             "postgres://postgres@127.0.0.1:\(port)/stdnet?password=***&connect_timeout=2"),
            // A '/' that was not percent-encoded, which libpq misreads and quotes in its error.
            ("postgresql://postgres:s3c/cret@127.0.0.1:\(port)/stdnet", "postgresql://postgres:***@127.0.0.1:\(port)/stdnet"),
            // The passphrase of the client's key.
            ("host=127.0.0.1 port=\(port) sslpassword=s3cret", "host=127.0.0.1 port=\(port) sslpassword=***"),
            ("postgres://postgres@127.0.0.1:\(port)/stdnet?sslpassword=s3cret&connect_timeout=2",
             "postgres://postgres@127.0.0.1:\(port)/stdnet?sslpassword=***&connect_timeout=2"),
            // A raw '?', which libpq accepts in a URI password.
            ("postgresql://postgres:s3c?cret@127.0.0.1:\(port)/stdnet", "postgresql://postgres:***@127.0.0.1:\(port)/stdnet"),
            // Forms that libpq rejects and quotes back: a leading space, an upper-case scheme,
            // misspelt keys, and a URI without '@', whose password libpq reads as the port.
            (" postgresql://postgres:s3cret@127.0.0.1:\(port)/stdnet", " postgresql://postgres:***@127.0.0.1:\(port)/stdnet"),
            ("POSTGRESQL://postgres:s3cret@127.0.0.1:\(port)/stdnet", "POSTGRESQL://postgres:***@127.0.0.1:\(port)/stdnet"),
            ("host=127.0.0.1 port=\(port) PASSWORD=s3cret", "host=127.0.0.1 port=\(port) PASSWORD=***"),
            ("host=127.0.0.1 port=\(port) passwordx=s3cret", "host=127.0.0.1 port=\(port) passwordx=***"),
            ("postgresql://postgres:s3cret", "postgresql://postgres:***"),
        ]
        for (conninfo, masked) in cases {
            let configuration = Connection.Configuration(conninfo: conninfo, reconnectTimeout: .milliseconds(300))
            let error = #expect(throws: JobStoreError.self) { try Connection(configuration) }
            let message = error?.description ?? ""
            #expect(!message.contains("cret"), "\(conninfo): \(message)")
            #expect(!message.contains("s3c"), "\(conninfo): \(message)")
            #expect(message.contains("could not connect to PostgreSQL at \(masked):"), "\(conninfo): \(message)")
        }
    }
}

/// Server notices go to the handler a service sets, not to standard error as libpq prints them.
@Suite(.serialized) struct PostgresNoticeTests {
    final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private var messages: [String] = []
        func add(_ message: String) { lock.withLock { messages.append(message) } }
        var all: [String] { lock.withLock { messages } }
    }

    @Test func warningReachesHandler() throws {
        let collected = Collected()
        PostgresNotices.handler = { collected.add($0) }
        defer { PostgresNotices.handler = nil }
        let connection = try Connection(conninfo: try TestDatabase.makeEmptyDatabase())
        try connection.execute("DO $$ BEGIN RAISE WARNING 'stdnet notice test'; END $$")
        let notice = try #require(collected.all.first { $0.contains("stdnet notice test") }, "\(collected.all)")
        #expect(notice.hasPrefix("WARNING:"), "\(notice)")
        #expect(!notice.hasSuffix("\n"), "\(notice)")
    }
}
