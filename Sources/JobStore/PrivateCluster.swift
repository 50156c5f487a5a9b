// A PostgreSQL cluster in a local folder, listening on loopback only: the embedded default for
// the single-machine demo, and the server the tests start, stop and restart.
import Foundation

/// A private PostgreSQL cluster created with `initdb` and run with `pg_ctl`.
///
/// The cluster trusts every connection from 127.0.0.1 and its socket folder, so it must never
/// listen anywhere else. PostgreSQL refuses to run as root; when this process is root, the server
/// programs run as the `postgres` user and the folder is handed to that user.
public struct PrivateCluster: Sendable {
    public let dataDirectory: URL
    public let port: Int
    /// Extra `postgres -c` settings, for example `fsync=off` for throwaway test clusters.
    public let settings: [String: String]

    public init(dataDirectory: URL, port: Int, settings: [String: String] = [:]) {
        self.dataDirectory = dataDirectory
        self.port = port
        self.settings = settings
    }

    /// Returns a connection URL for `database` as the superuser `postgres`.
    public func url(database: String = "postgres") -> String {
        "postgresql://postgres@127.0.0.1:\(port)/\(database)"
    }

    /// Whether `initdb` has already run in the data folder.
    public var isInitialised: Bool {
        FileManager.default.fileExists(atPath: dataDirectory.appendingPathComponent("PG_VERSION").path)
    }

    /// Runs `initdb` unless the folder already contains a cluster.
    public func initialise() throws {
        if isInitialised { return }
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        try handToServerUser(dataDirectory)
        try run("initdb", ["-D", dataDirectory.path, "-U", "postgres", "--auth=trust", "--encoding=UTF8",
                           "--locale=C", "--no-instructions"])
    }

    /// The server's log file, in the data folder.
    public var serverLog: URL { dataDirectory.appendingPathComponent("server.log") }

    /// Starts the server and waits until it accepts connections.
    ///
    /// - throws: ``JobStoreError/connectionFailed(_:)`` naming the server log, and saying so
    ///   when the port is taken by another program.
    public func start() throws {
        let options = (["listen_addresses": "127.0.0.1", "port": String(port),
                        "unix_socket_directories": dataDirectory.path] as [String: String])
            .merging(settings) { $1 }
            .sorted { $0.key < $1.key }
            .map { "-c \($0.key)=\($0.value)" }
            .joined(separator: " ")
        // The reason for a failure is in what this start appends to the log.
        let logStart = (try? FileManager.default.attributesOfItem(atPath: serverLog.path)[.size] as? Int) ?? 0
        do {
            try run("pg_ctl", ["-D", dataDirectory.path, "-o", options, "-l", serverLog.path, "-w", "-t", "60", "start"])
        } catch {
            let log = (try? Data(contentsOf: serverLog)).map { String(decoding: $0.dropFirst(logStart), as: UTF8.self) } ?? ""
            if log.contains("Address already in use") {
                throw JobStoreError.connectionFailed(
                    "port \(port) on 127.0.0.1 is already in use, so PostgreSQL did not start; give another --port (or STDNET_DATABASE_PORT), or stop the program that listens there; server log: \(serverLog.path)")
            }
            throw JobStoreError.connectionFailed("\(error); server log: \(serverLog.path)")
        }
    }

    /// Stops the server. `immediate` aborts it as a crash would; `fast` shuts it down cleanly.
    public func stop(mode: String = "fast") throws {
        try run("pg_ctl", ["-D", dataDirectory.path, "-m", mode, "-w", "-t", "60", "stop"])
    }

    /// Whether a server is running on this folder.
    public var isRunning: Bool {
        (try? run("pg_ctl", ["-D", dataDirectory.path, "status"])) != nil
    }

    /// The port of the running server, read from the fourth line of postmaster.pid. PostgreSQL
    /// writes that file at start. Nil when the file is missing or has no port.
    public var runningPort: Int? {
        guard let text = try? String(contentsOf: dataDirectory.appendingPathComponent("postmaster.pid"), encoding: .utf8) else { return nil }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        return lines.count > 3 ? Int(lines[3].trimmingCharacters(in: .whitespaces)) : nil
    }

    // MARK: Running the server programs

    /// Returns the folder of the PostgreSQL server programs, from Debian's layout or the PATH.
    static func binDirectory() throws -> URL {
        let debian = URL(fileURLWithPath: "/usr/lib/postgresql")
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: debian.path)) ?? []
        if let newest = versions.compactMap(Int.init).max() {
            return debian.appendingPathComponent("\(newest)/bin")
        }
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            if FileManager.default.isExecutableFile(atPath: "\(folder)/initdb") {
                return URL(fileURLWithPath: String(folder))
            }
        }
        throw JobStoreError.connectionFailed(
            "PostgreSQL server programs (initdb, pg_ctl) not found; install the postgresql package (scripts/install does)")
    }

    @discardableResult
    private func run(_ program: String, _ arguments: [String]) throws -> String {
        let executable = try Self.binDirectory().appendingPathComponent(program).path
        let command = getuid() == 0
            ? ["/usr/sbin/runuser", "-u", "postgres", "--", executable] + arguments
            : [executable] + arguments
        // Output goes to a file, not a pipe: the server started by pg_ctl inherits the
        // descriptors and would keep a pipe open for as long as it runs.
        let outputFile = FileManager.default.temporaryDirectory
            .appendingPathComponent("stdnet-\(program)-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: outputFile) }
        let status = try spawnAndWait(command, outputPath: outputFile.path)
        let text = (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
        guard status == 0 else {
            throw JobStoreError.connectionFailed(
                "\(program) failed with status \(status) for the cluster in \(dataDirectory.path): \(text.suffix(600))")
        }
        return text
    }

    /// Gives the folder to the `postgres` user when running as root, and lets it reach the folder.
    private func handToServerUser(_ folder: URL) throws {
        guard getuid() == 0 else { return }
        guard let user = getpwnam("postgres") else {
            throw JobStoreError.connectionFailed("running as root needs a 'postgres' user to run the server; install the postgresql package")
        }
        guard chown(folder.path, user.pointee.pw_uid, user.pointee.pw_gid) == 0 else {
            throw JobStoreError.connectionFailed("cannot hand \(folder.path) to the postgres user: \(String(cString: strerror(errno)))")
        }
        // Every parent must be searchable by the server user.
        var parent = folder.deletingLastPathComponent()
        while parent.path != "/" {
            var status = stat()
            if stat(parent.path, &status) == 0, status.st_mode & 0o001 == 0 {
                chmod(parent.path, status.st_mode | 0o001)
            }
            parent = parent.deletingLastPathComponent()
        }
    }
}

/// Runs a program with standard output and error appended to `outputPath` and returns its exit
/// status. Uses posix_spawn and waitpid directly so that it works on any thread.
func spawnAndWait(_ command: [String], outputPath: String) throws -> Int32 {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)

    let arguments: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
    defer { arguments.forEach { free($0) } }
    var processID: pid_t = 0
    let spawned = posix_spawn(&processID, command[0], &actions, nil, arguments, environ)
    guard spawned == 0 else {
        throw JobStoreError.connectionFailed("cannot start \(command[0]): \(String(cString: strerror(spawned)))")
    }
    var status: Int32 = 0
    while waitpid(processID, &status, 0) == -1 {
        guard errno == EINTR else {
            throw JobStoreError.connectionFailed("waiting for \(command[0]) failed: \(String(cString: strerror(errno)))")
        }
    }
    // WIFEXITED and WEXITSTATUS are macros that Swift does not import.
    let signal = status & 0x7f
    return signal == 0 ? (status >> 8) & 0xff : 128 + signal
}
