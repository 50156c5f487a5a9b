import Foundation
import JobStore
import Testing
import TestSupport

/// A coordinator whose PostgreSQL server stops and starts again.
@Suite struct DatabaseOutageTests {
    @Test func coordinatorLogsReturnOfDatabase() throws {
        let cluster = try TestDatabase.startCluster(named: "outage")
        defer {
            try? cluster.stop(mode: "immediate")
            try? FileManager.default.removeItem(at: cluster.dataDirectory)
        }
        let url = try TestDatabase.makeMigratedDatabase(on: cluster.url())
        let coordinator = try ServiceProcess([
            "coordinator", "--database", url, "--worker-endpoint", "tcp://127.0.0.1:\(freePort())",
            "--client-endpoint", "tcp://127.0.0.1:\(freePort())", "--name", "outage",
        ], label: "outage")
        defer { coordinator.stop() }
        try waitUntil("the coordinator did not start") { coordinator.output.contains("coordinator started") }

        try cluster.stop(mode: "fast")
        try waitUntil("the coordinator did not report the outage", timeout: .seconds(30)) {
            coordinator.output.contains("sweeping expired leases failed")
        }
        try cluster.start()
        try waitUntil("the coordinator did not log that the database is back", timeout: .seconds(60)) {
            coordinator.output.contains("database reachable again")
        }
        #expect(coordinator.isRunning)
    }
}
