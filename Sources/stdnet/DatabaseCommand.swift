// `stdnet database`: creates, starts and stops the private PostgreSQL cluster of the
// single-machine setup.
import Foundation
import JobStore

enum DatabaseCommand: Command {
    static let name = "database"
    static let summary = "start or stop a private PostgreSQL cluster in a local folder (loopback only)"
    static let usage = """
        usage: stdnet database start|stop|status [--data DIR] [--port PORT]

        Runs a PostgreSQL cluster of its own in DIR, listening on 127.0.0.1 only and trusting local
        connections; meant for a single machine, never for a shared network. 'start' creates the
        cluster on first use, starts it and creates the database 'stdnet'. A cluster that it has
        just created but cannot start (for example on a port in use) is removed again, and its
        server log is kept in the temporary folder, which the message names. Server programs come
        from the Debian postgresql package; as root they run as the 'postgres' user.

          --data DIR    cluster folder (env STDNET_DATA; default ./.local/postgres)
          --port PORT   TCP port on 127.0.0.1 (env STDNET_DATABASE_PORT; default 54329)
        """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        let folder = try arguments.option("data", environment: "STDNET_DATA") ?? ".local/postgres"
        let port = try arguments.integer("port", environment: "STDNET_DATABASE_PORT", default: 54329)
        guard (1...65535).contains(port) else { throw UsageError("--port expects a TCP port from 1 to 65535, got \(port)") }
        let positionals = try arguments.positionals()
        guard positionals.count == 1, let action = positionals.first else {
            throw UsageError("expected one of start, stop, status")
        }
        let dataDirectory = URL(fileURLWithPath: folder).standardizedFileURL
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: dataDirectory.path, isDirectory: &isFolder), !isFolder.boolValue {
            throw ClientError("--data \(dataDirectory.path) is a file; give a folder for the cluster")
        }
        let cluster = PrivateCluster(dataDirectory: dataDirectory, port: port)

        switch action {
        case "start":
            let isNew = !cluster.isInitialised
            // Owner and permissions of a folder that existed, which initdb's hand-over changes.
            let folderAttributes = try? FileManager.default.attributesOfItem(atPath: dataDirectory.path)
            try cluster.initialise()
            if !cluster.isRunning {
                do {
                    try cluster.start()
                } catch where isNew {
                    throw ClientError(removeUnstartedCluster(cluster, restoringFolder: folderAttributes, after: error))
                }
            } else if let running = cluster.runningPort, running != port {
                throw ClientError("PostgreSQL in \(dataDirectory.path) already runs on port \(running), not \(port): give --port \(running), or stop it with 'stdnet database stop --data \(dataDirectory.path)' first")
            }
            let connection = try Connection(conninfo: cluster.url())
            let exists = try connection.execute("SELECT 1 FROM pg_database WHERE datname = 'stdnet'").rows.isEmpty == false
            if !exists { try connection.execute("CREATE DATABASE stdnet") }
            print("PostgreSQL running in \(dataDirectory.path): \(cluster.url(database: "stdnet"))")
        case "stop":
            // A folder without PG_VERSION contains no cluster: probably a mistyped --data.
            guard FileManager.default.fileExists(atPath: dataDirectory.appendingPathComponent("PG_VERSION").path) else {
                throw ClientError("\(dataDirectory.path) contains no PostgreSQL cluster; give the --data folder that 'stdnet database start' used")
            }
            if cluster.isRunning {
                try cluster.stop()
                print("PostgreSQL in \(dataDirectory.path) stopped")
            } else {
                print("PostgreSQL in \(dataDirectory.path) was not running")
            }
        case "status":
            guard cluster.isRunning else {
                print("not running")
                return 3
            }
            // The server's own port, which may differ from --port.
            let running = PrivateCluster(dataDirectory: dataDirectory, port: cluster.runningPort ?? port)
            print("running: \(running.url(database: "stdnet"))")
            return 0
        default:
            throw UsageError("unknown action '\(action)'; expected start, stop or status")
        }
        return 0
    }

    /// Removes a cluster that this start created and could not start, so that the next start
    /// creates it again, and returns the start's error with what was done. Its server log is kept
    /// in the temporary folder. A folder that existed before, whose attributes are given, loses
    /// only its contents and gets its owner and permissions back.
    private static func removeUnstartedCluster(_ cluster: PrivateCluster, restoringFolder folderAttributes: [FileAttributeKey: Any]?,
                                               after error: Error) -> String {
        let folder = cluster.dataDirectory
        let files = FileManager.default
        // pg_ctl may have given up waiting while the server still starts.
        try? cluster.stop(mode: "immediate")
        guard !files.fileExists(atPath: folder.appendingPathComponent("postmaster.pid").path) else {
            return "\(error) (a server may still run in the new cluster in \(folder.path), so it was kept)"
        }
        var message = "\(error)"
        let keptLog = files.temporaryDirectory.appendingPathComponent("stdnet-database-start-\(UUID().uuidString).log")
        if (try? files.moveItem(at: cluster.serverLog, to: keptLog)) != nil {
            message = message.replacingOccurrences(of: cluster.serverLog.path, with: keptLog.path)
        }
        let targets = folderAttributes != nil
            ? ((try? files.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)) ?? [])
            : [folder]
        let removed = targets.allSatisfy { (try? files.removeItem(at: $0)) != nil }
        if let folderAttributes {
            let restored = folderAttributes.filter { [.ownerAccountID, .groupOwnerAccountID, .posixPermissions].contains($0.key) }
            try? files.setAttributes(restored, ofItemAtPath: folder.path)
        }
        return message + (removed ? " (the new cluster in \(folder.path) was removed)" : " (the new cluster in \(folder.path) could not be removed; remove it before the next start)")
    }
}
