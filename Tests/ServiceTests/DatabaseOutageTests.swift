import Foundation
import Imaging
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

    /// `submit --wait` goes on through a database restart, during which the coordinator rejects
    /// STATUS, and follows the study again once the database is back.
    @Test func waitOutlastsDatabaseRestart() throws {
        let cluster = try TestDatabase.startCluster(named: "wait-outage")
        defer {
            try? cluster.stop(mode: "immediate")
            try? FileManager.default.removeItem(at: cluster.dataDirectory)
        }
        let url = try TestDatabase.makeMigratedDatabase(on: cluster.url())
        let clientEndpoint = "tcp://127.0.0.1:\(freePort())"
        let coordinator = try ServiceProcess([
            "coordinator", "--database", url, "--worker-endpoint", "tcp://127.0.0.1:\(freePort())",
            "--client-endpoint", clientEndpoint, "--name", "wait-outage",
        ], label: "wait-outage")
        defer { coordinator.stop() }
        try waitUntil("the coordinator did not start") { coordinator.output.contains("coordinator started") }

        let volumes = try SubmissionTests.uniformPhases(size: VolumeSize(8, 8, 4), values: [40, 120])
        defer { try? FileManager.default.removeItem(at: volumes) }
        let waiting = try ServiceProcess([
            "submit", "--nifti", "NC=\(volumes.path)/NC.nii,PV=\(volumes.path)/PV.nii", "--patient", "WAIT-OUTAGE",
            "--coordinator", clientEndpoint, "--wait",
        ], label: "submit-wait-outage")
        defer { waiting.stop() }
        try waitUntil("submit did not report the queued analysis:\n\(waiting.output)", timeout: .seconds(60)) {
            waiting.output.contains("study 1: analysis queued\n")
        }

        try cluster.stop(mode: "fast")
        try waitUntil("submit did not report the rejected STATUS:\n\(waiting.output)", timeout: .seconds(30)) {
            waiting.output.contains("waiting: the coordinator rejected the request: ")
        }
        try cluster.start()
        // The wait ends when the analysis does; cancelling it is the quickest end without a worker.
        try waitUntil("the coordinator did not take the cancel after the restart", timeout: .seconds(60)) {
            let cancel = try ServiceProcess(["cancel", "1", "--coordinator", clientEndpoint], label: "cancel-after-outage")
            return cancel.wait(timeout: .seconds(30)) == 0
        }
        #expect(waiting.wait(timeout: .seconds(60)) == 1, "\(waiting.output)")
        #expect(waiting.output.contains("; asking again\n"), "\(waiting.output)")
        #expect(waiting.output.contains("study 1: analysis cancelled"), "\(waiting.output)")
    }
}
