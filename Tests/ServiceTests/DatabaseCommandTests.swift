import Foundation
import Testing
import TestSupport

/// `stdnet database` on folders that hold no cluster.
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
}
