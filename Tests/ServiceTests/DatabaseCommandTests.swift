import Foundation
import Testing
import TestSupport

/// `stdnet database` on folders that contain no cluster, a taken port, and a running cluster.
@Suite struct DatabaseCommandTests {
    @Test func stopNamesFolderWithoutCluster() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("stdnet-no-cluster-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }

        let stop = try ServiceProcess(["database", "stop", "--data", folder.path, "--port", String(freePort())], label: "database-stop")
        #expect(stop.wait(timeout: .seconds(30)) == 1)
        #expect(stop.output.contains("\(folder.path) contains no PostgreSQL cluster; give the --data folder"), "\(stop.output)")
        #expect(!stop.output.contains("stopped"), "\(stop.output)")

        // A file where the cluster folder should be.
        let file = folder.appendingPathComponent("not-a-folder")
        try Data("x".utf8).write(to: file)
        let start = try ServiceProcess(["database", "start", "--data", file.path, "--port", String(freePort())], label: "database-start")
        #expect(start.wait(timeout: .seconds(30)) == 1)
        #expect(start.output.contains("--data \(file.path) is a file; give a folder for the cluster"), "\(start.output)")
    }

    /// A port that another program listens on is named as taken, with the server log, and the
    /// cluster folder this start created is removed again.
    @Test func startOnTakenPortRemovesNewCluster() throws {
        let (listener, port) = boundLoopbackSocket()
        defer { close(listener) }
        try #require(listen(listener, 1) == 0)

        let parent = FileManager.default.temporaryDirectory.appendingPathComponent("stdnet-taken-port-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: parent) }
        let folder = parent.appendingPathComponent("postgres")
        let start = try ServiceProcess(["database", "start", "--data", folder.path, "--port", String(port)], label: "database-start")
        #expect(start.wait(timeout: .seconds(120)) == 1, "\(start.output)")
        #expect(start.output.contains("port \(port) on 127.0.0.1 is already in use"), "\(start.output)")
        // The advice for commands that connect to a database does not apply here.
        #expect(!start.output.contains("Check that PostgreSQL runs"), "\(start.output)")
        #expect(!FileManager.default.fileExists(atPath: folder.path), "\(start.output)")

        // The message names a server log that is still there to read.
        let logPath = start.output.firstMatch(of: /server log: (\S+\.log)/).map { String($0.1) }
        let log = try #require(logPath, "\(start.output)")
        #expect(try String(contentsOfFile: log, encoding: .utf8).contains("Address already in use"))
        try? FileManager.default.removeItem(atPath: log)

        // A folder created beforehand is kept, empty, with its owner and permissions.
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o751])
        let before = try FileManager.default.attributesOfItem(atPath: folder.path)
        let again = try ServiceProcess(["database", "start", "--data", folder.path, "--port", String(port)], label: "database-start-again")
        #expect(again.wait(timeout: .seconds(120)) == 1, "\(again.output)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty, "\(again.output)")
        let after = try FileManager.default.attributesOfItem(atPath: folder.path)
        #expect(after[.posixPermissions] as? Int == 0o751)
        #expect(after[.ownerAccountID] as? Int == before[.ownerAccountID] as? Int)
        if let againLog = again.output.firstMatch(of: /server log: (\S+\.log)/).map({ String($0.1) }) {
            try? FileManager.default.removeItem(atPath: againLog)
        }
    }

    /// A start with another port than the running cluster's names the port it runs on, and
    /// status gives the URL with that port.
    @Test func startOnOtherPortNamesRunningPort() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("stdnet-running-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let port = freePort()
        let start = try ServiceProcess(["database", "start", "--data", folder.path, "--port", String(port)], label: "database-start")
        #expect(start.wait(timeout: .seconds(120)) == 0, "\(start.output)")
        defer {
            let stop = try? ServiceProcess(["database", "stop", "--data", folder.path], label: "database-stop")
            _ = stop?.wait(timeout: .seconds(60))
        }

        let other = port == 65535 ? port - 1 : port + 1
        let again = try ServiceProcess(["database", "start", "--data", folder.path, "--port", String(other)], label: "database-start-other")
        #expect(again.wait(timeout: .seconds(60)) == 1, "\(again.output)")
        #expect(again.output.contains("PostgreSQL in \(folder.path) already runs on port \(port), not \(other): give --port \(port)"),
                "\(again.output)")
        let status = try ServiceProcess(["database", "status", "--data", folder.path, "--port", String(other)], label: "database-status")
        #expect(status.wait(timeout: .seconds(60)) == 0, "\(status.output)")
        #expect(status.output.contains("running: postgresql://postgres@127.0.0.1:\(port)/stdnet"), "\(status.output)")
    }
}
