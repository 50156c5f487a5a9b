// Real PostgreSQL for the tests: the server named by STDNET_TEST_DATABASE_URL (scripts/test
// starts one), or else a private cluster this process starts once and shares.
import Foundation
import JobStore

public enum TestDatabase {
    public static let migrationsFolder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Migrations")

    /// The URL of a server's maintenance database, shared by every test in this process.
    public static let serverURL: String = {
        if let url = ProcessInfo.processInfo.environment["STDNET_TEST_DATABASE_URL"], !url.isEmpty {
            return url
        }
        let cluster = try! startCluster(named: "shared")
        atexit {
            guard let cluster = TestDatabase.sharedCluster else { return }
            try? cluster.stop(mode: "immediate")
            try? FileManager.default.removeItem(at: cluster.dataDirectory)
        }
        sharedCluster = cluster
        return cluster.url()
    }()

    nonisolated(unsafe) static var sharedCluster: PrivateCluster?

    /// Creates and starts a throwaway cluster on a free loopback port.
    public static func startCluster(named name: String) throws -> PrivateCluster {
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("stdnet-test-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let cluster = PrivateCluster(dataDirectory: folder, port: freePort(),
                                     settings: ["fsync": "off", "max_connections": "200"])
        try cluster.initialise()
        try cluster.start()
        return cluster
    }

    /// Creates a new, migrated database on the shared server and returns its URL.
    public static func makeMigratedDatabase(on server: String = serverURL) throws -> String {
        let url = try makeEmptyDatabase(on: server)
        let connection = try Connection(conninfo: url)
        try Migrator(connection: connection, migrations: Migrator.loadMigrations(from: migrationsFolder)).migrate()
        return url
    }

    /// Creates a new, empty database on the shared server and returns its URL.
    public static func makeEmptyDatabase(on server: String = serverURL) throws -> String {
        let name = "test_\(UInt64.random(in: 0...UInt64.max))"
        let admin = try Connection(conninfo: server)
        try admin.execute("CREATE DATABASE \(name)")
        return replacingDatabase(in: server, with: name)
    }

    public static func replacingDatabase(in url: String, with name: String) -> String {
        guard let slash = url.range(of: "/", options: .backwards), url[..<slash.lowerBound].contains("@") else {
            return url + " dbname=\(name)"
        }
        let query = url[slash.upperBound...].firstIndex(of: "?").map { String(url[$0...]) } ?? ""
        return String(url[..<slash.upperBound]) + name + query
    }
}

/// Returns a TCP port on 127.0.0.1 that was free a moment ago.
public func freePort() -> Int {
    let (socketDescriptor, port) = boundLoopbackSocket()
    close(socketDescriptor)
    return port
}

/// Returns a TCP socket bound to a free port on 127.0.0.1, and the port; the caller closes it.
public func boundLoopbackSocket() -> (descriptor: Int32, port: Int) {
    let socketDescriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketDescriptor, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketDescriptor, $0, &length) }
    }
    return (socketDescriptor, Int(UInt16(bigEndian: address.sin_port)))
}

/// Runs `body` on `count` threads at once and waits for all of them; rethrows the first error.
public func runConcurrently(_ count: Int, _ body: @escaping @Sendable (Int) throws -> Void) throws {
    let errors = ErrorBox()
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        Thread.detachNewThread {
            defer { group.leave() }
            do { try body(index) } catch { errors.record(error) }
        }
    }
    group.wait()
    if let error = errors.first { throw error }
}

public final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [Error] = []
    public init() {}
    public func record(_ error: Error) { lock.withLock { errors.append(error) } }
    public var first: Error? { lock.withLock { errors.first } }
}
