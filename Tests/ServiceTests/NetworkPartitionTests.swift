import Foundation
import JobStore
import Testing
import TestSupport
import Wire

/// Workers on two separate hosts, made as network namespaces joined by a bridge to the host that
/// runs PostgreSQL and the coordinator. One worker host is cut off mid-job and later reconnected.
/// Needs root and iproute2; every address is inside namespaces and a bridge the test creates.
@Suite(.serialized, .enabled(if: getuid() == 0 && (FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") || FileManager.default.isExecutableFile(atPath: "/sbin/ip"))))
struct NetworkPartitionTests {
    @Test func cutOffWorkerResultRejected() throws {
        let hosts = try TestNetwork()
        defer { hosts.tearDown() }
        let deployment = try Deployment(lease: "2", heartbeat: "0.2")
        try deployment.startCoordinator(workerEndpoint: "tcp://\(TestNetwork.coordinatorAddress):\(freePort())")
        let endpoint = deployment.coordinators[0].arguments[deployment.coordinators[0].arguments.firstIndex(of: "--worker-endpoint")! + 1]

        let isolated = try hosts.startWorker(in: hosts.namespaces[0], name: "isolated", coordinator: endpoint, heartbeat: deployment.heartbeat)
        defer { isolated.stop() }
        let id = try #require(try deployment.submit(1, payload: "{\"sleepMilliseconds\": 3000}").first)
        try waitUntil("the job never started on the first host; worker log:\n\(isolated.output)") {
            try deployment.value("SELECT lease_owner FROM jobs WHERE id = $1 AND state = 'running'", [id]) == "isolated"
        }

        try hosts.setLink(of: 0, up: false)
        let other = try hosts.startWorker(in: hosts.namespaces[1], name: "other", coordinator: endpoint, heartbeat: deployment.heartbeat)
        defer { other.stop() }
        try deployment.waitForAllJobsToEnd(timeout: .seconds(60))
        #expect(try deployment.value("SELECT state::text || ' ' || attempt || ' ' || lease_owner FROM jobs WHERE id = $1", [id]) == "succeeded 2 other")

        // The isolated worker has finished attempt 1 meanwhile; its result waits in its socket.
        Thread.sleep(forTimeInterval: 1)
        try hosts.setLink(of: 0, up: true)
        try waitUntil("the late result was never rejected; worker log:\n\(isolated.output.suffix(2000))", timeout: .seconds(30)) {
            isolated.output.contains("result rejected by coordinator job=\(id) attempt=1")
        }
        #expect(try deployment.value("SELECT count(*) FROM job_events WHERE job_id = $1 AND to_state = 'succeeded'", [id]) == "1")
        #expect(try deployment.value("SELECT lease_owner FROM jobs WHERE id = $1", [id]) == "other")
        #expect(isolated.isRunning)
    }
}

/// Two worker hosts as network namespaces, each with a veth pair into a bridge that carries the
/// coordinator's address on this host.
final class TestNetwork {
    static let coordinatorAddress = "10.213.77.1"
    let suffix = String(UInt16.random(in: 0...UInt16.max), radix: 16)
    var bridge: String { "snbr\(suffix)" }
    var namespaces: [String] { ["sn-a-\(suffix)", "sn-b-\(suffix)"] }
    let ip = FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") ? "/usr/sbin/ip" : "/sbin/ip"

    init() throws {
        try run(["link", "add", bridge, "type", "bridge"])
        try run(["addr", "add", "\(Self.coordinatorAddress)/24", "dev", bridge])
        try run(["link", "set", bridge, "up"])
        for (index, namespace) in namespaces.enumerated() {
            let hostSide = "snh\(index)\(suffix)"
            try run(["netns", "add", namespace])
            try run(["link", "add", hostSide, "type", "veth", "peer", "name", "eth0", "netns", namespace])
            try run(["link", "set", hostSide, "master", bridge])
            try run(["link", "set", hostSide, "up"])
            try run(["-n", namespace, "addr", "add", "10.213.77.\(index + 10)/24", "dev", "eth0"])
            try run(["-n", namespace, "link", "set", "eth0", "up"])
            try run(["-n", namespace, "link", "set", "lo", "up"])
        }
    }

    /// Takes a worker host's link down or up, as a pulled cable would.
    func setLink(of index: Int, up: Bool) throws {
        try run(["link", "set", "snh\(index)\(suffix)", up ? "up" : "down"])
    }

    func startWorker(in namespace: String, name: String, coordinator: String, heartbeat: String) throws -> ServiceProcess {
        try ServiceProcess(command: [ip, "netns", "exec", namespace, ServiceProcess.executable, "worker", "--no-model", "--coordinator", coordinator,
                                     "--name", name, "--concurrency", "1", "--heartbeat", heartbeat], label: name)
    }

    func tearDown() {
        for namespace in namespaces { try? run(["netns", "delete", namespace]) }
        try? run(["link", "delete", bridge])
    }

    private func run(_ arguments: [String]) throws {
        try ServiceProcess.runToCompletion([ip] + arguments)
    }
}
