// Applies the numbered SQL files in Migrations/ in order, once each, and detects edited files.
import Foundation


/// One schema change: a file named `NNNN_name.sql`.
public struct Migration: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// SHA-256 of the file's bytes, in hex; an applied migration whose file no longer matches is rejected.
    public var checksum: String { sha256Hex(Data(sql.utf8)) }
}

/// What ``Migrator/migrate()`` did.
public struct MigrationReport: Sendable {
    public var applied: [Migration] = []
    public var alreadyApplied = 0
}

/// Applies pending migrations under a PostgreSQL advisory lock, so several processes may call
/// `migrate` at once and only one applies each file. Each file runs in its own transaction with
/// its row in `schema_migrations`; an applied file whose checksum changed stops everything.
public struct Migrator {
    /// Arbitrary constant shared by every stdnet process: the key of the migration advisory lock.
    static let advisoryLockKey: Int64 = 0x5354_444E_4554  // "STDNET"

    public let migrations: [Migration]
    private let connection: Connection

    public init(connection: Connection, migrations: [Migration]) {
        self.connection = connection
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    /// The newest migration the statements of this build rely on. Raise it with each new file in
    /// Migrations/ that they need.
    public static let requiredVersion = 3

    /// Throws ``JobStoreError/migration(_:)`` unless the database has every migration up to
    /// ``requiredVersion``, so that a process does not start on a database it cannot use.
    public static func checkSchema(on connection: Connection) throws {
        var newest = 0
        if try connection.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").scalar == "t" {
            newest = try connection.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").scalar.flatMap { Int($0) } ?? 0
        }
        guard newest >= requiredVersion else {
            let found = newest == 0 ? "has no stdnet schema" : "has the schema of migration \(newest)"
            throw JobStoreError.migration("the database \(found), and this build needs migration \(requiredVersion); run 'stdnet migrate' with the same database options first")
        }
    }

    /// Reads `NNNN_name.sql` files from a folder; other files are ignored, a malformed or
    /// duplicated number is an error.
    public static func loadMigrations(from folder: URL) throws -> [Migration] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        } catch {
            throw JobStoreError.migration("cannot read the migrations folder \(folder.path): \(error.localizedDescription)")
        }
        guard names.contains(where: { $0.hasSuffix(".sql") }) else {
            throw JobStoreError.migration("the migrations folder \(folder.path) contains no NNNN_name.sql files: give the Migrations folder of the stdnet source")
        }
        var migrations: [Migration] = []
        for file in names.sorted() where file.hasSuffix(".sql") {
            let stem = file.dropLast(4)
            let parts = stem.split(separator: "_", maxSplits: 1)
            guard parts.count == 2, parts[0].count == 4, let version = Int(parts[0]) else {
                throw JobStoreError.migration("migration file \(file) is not named NNNN_name.sql")
            }
            if let clash = migrations.first(where: { $0.version == version }) {
                throw JobStoreError.migration("migration files \(clash.name).sql and \(file) share version \(version)")
            }
            let sql = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            migrations.append(Migration(version: version, name: String(stem), sql: sql))
        }
        return migrations
    }

    /// Applies every migration not yet recorded and returns what it did.
    @discardableResult
    public func migrate() throws -> MigrationReport {
        try connection.execute("SELECT pg_advisory_lock($1)", [Migrator.advisoryLockKey])
        defer { _ = try? connection.execute("SELECT pg_advisory_unlock($1)", [Migrator.advisoryLockKey]) }

        try connection.execute("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version     integer PRIMARY KEY,
                name        text NOT NULL,
                checksum    text NOT NULL,
                applied_at  timestamptz NOT NULL DEFAULT now()
            )
            """)
        let applied = try connection.execute("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
        var appliedChecksums: [Int: (name: String, checksum: String)] = [:]
        for row in applied.rows {
            appliedChecksums[Int(row[0]!)!] = (row[1]!, row[2]!)
        }

        let known = Set(migrations.map(\.version))
        if let unknown = appliedChecksums.keys.sorted().first(where: { !known.contains($0) }) {
            throw JobStoreError.migration(
                "the database has migration \(appliedChecksums[unknown]!.name).sql, which this build does not know; it was migrated by a newer stdnet")
        }

        var report = MigrationReport()
        for migration in migrations {
            if let recorded = appliedChecksums[migration.version] {
                guard recorded.checksum == migration.checksum else {
                    throw JobStoreError.migration(
                        "migration \(migration.name).sql was changed after it was applied (recorded checksum \(recorded.checksum.prefix(12)), file now \(migration.checksum.prefix(12))); restore the file and add the change as a new migration")
                }
                report.alreadyApplied += 1
                continue
            }
            try connection.transaction {
                do {
                    try connection.executeScript(migration.sql)
                } catch let JobStoreError.server(sqlState, message, _) {
                    throw JobStoreError.migration("migration \(migration.name).sql failed (SQLSTATE \(sqlState)): \(message)")
                }
                try connection.execute("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                                       [migration.version, migration.name, migration.checksum])
            }
            report.applied.append(migration)
        }

        return report
    }
}
