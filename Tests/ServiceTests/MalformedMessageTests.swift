import Foundation
import JobStore
import Testing
import TestSupport
import Wire

/// Garbage, truncated and oversized frames against both endpoints of a coordinator and against
/// a worker: every process stays up and keeps working.
@Suite(.serialized) struct MalformedMessageTests {
    /// Messages that must be rejected, each with what is wrong with it.
    static let malformed: [(String, [Data])] = [
        ("empty frame", [Data()]),
        ("one frame only", [Data([protocolVersion, 6])]),
        ("random bytes", [Data((0..<64).map { _ in UInt8.random(in: 0...255) }), Data((0..<64).map { _ in UInt8.random(in: 0...255) })]),
        ("wrong version", [Data([99, 6]), Data("{\"header\": {}, \"attachments\": []}".utf8)]),
        ("unknown type", [Data([protocolVersion, 77]), Data("{\"header\": {}, \"attachments\": []}".utf8)]),
        ("invalid JSON", [Data([protocolVersion, 22]), Data("{not json".utf8)]),
        ("missing field", [Data([protocolVersion, 22]), Data("{\"header\": {}, \"attachments\": []}".utf8)]),
        ("missing attachment", [Data([protocolVersion, 4]),
                                Data("{\"header\": {\"job\": 1, \"attempt\": 1, \"result\": \"{}\"}, \"attachments\": [{\"name\": \"mask\", \"byteCount\": 10}]}".utf8)]),
        ("oversized frame", [Data([protocolVersion, 22]), Data(count: Socket.maximumFrameSize + 4096)]),
    ]

    @Test func coordinatorSurvivesMalformedMessages() throws {
        let deployment = try Deployment()
        let coordinator = try deployment.startCoordinator()
        try deployment.startWorker(name: "worker")

        for (label, frames) in Self.malformed {
            let client = try Socket(.dealer)
            try client.connect(deployment.clientEndpoint)
            client.send(frames)
            let worker = try Socket(.dealer, identity: "garbage-\(label.replacingOccurrences(of: " ", with: "-"))")
            try worker.connect(deployment.workerEndpoint)
            worker.send(frames)
            // Requests that reach the decoder get an ERROR reply; an oversized frame is dropped
            // by ZeroMQ together with the connection before it is read.
            if label != "oversized frame" {
                _ = try poll([.socket(client)], timeout: .seconds(5))
                let reply = try client.receive().map { try Envelope.decode($0).message }
                guard case .error = reply else {
                    Issue.record("no ERROR reply to a client message with \(label): \(String(describing: reply))")
                    continue
                }
            }
        }

        #expect(coordinator.isRunning)
        let jobs = try deployment.submit(20)
        try deployment.waitForAllJobsToEnd()
        #expect(jobs.count == 20)
        #expect(try deployment.count("succeeded") == 20)
        #expect(coordinator.output.contains("malformed client request rejected"))
        #expect(coordinator.output.contains("malformed worker message rejected"))
    }

    /// A client that floods the coordinator and leaves before reading gets no replies, and the
    /// log reports them in a few lines rather than one per reply.
    @Test func undeliveredRepliesLoggedRateLimited() throws {
        let deployment = try Deployment()
        let coordinator = try deployment.startCoordinator()
        let client = try Socket(.dealer)
        try client.connect(deployment.clientEndpoint)
        let garbage = [Data([protocolVersion, 22]), Data("{not json".utf8)]
        for _ in 0..<2000 { client.send(garbage) }
        client.setLinger(.seconds(5))
        client.close()

        try waitUntil("no reply went undelivered: \(coordinator.output)", timeout: .seconds(30)) {
            coordinator.output.contains("reply to client not delivered")
        }
        // The log allows one line per 5 s, and the coordinator replies to the flood within about a second, so a
        // third line would take a machine slowed more than fivefold.
        Thread.sleep(forTimeInterval: 1)
        let lines = coordinator.output.split(separator: "\n").filter { $0.contains("reply to client not delivered") }
        #expect(lines.count <= 2, "\(lines.count) lines")
        #expect(coordinator.isRunning)
    }

    @Test func workerSurvivesMalformedMessages() throws {
        let endpoint = "tcp://127.0.0.1:\(freePort())"
        let fakeCoordinator = try Socket(.router)
        try fakeCoordinator.bind(endpoint)
        let worker = try ServiceProcess(["worker", "--no-model", "--coordinator", endpoint, "--name", "target", "--heartbeat", "0.2"], label: "target")
        defer { worker.stop() }

        // The worker announces itself with a heartbeat; its routing ID is then known.
        var identity: Data?
        try waitUntil("the worker never sent a message") {
            _ = try poll([.socket(fakeCoordinator)], timeout: .milliseconds(100))
            if let frames = try fakeCoordinator.receive() { identity = frames[0] }
            return identity != nil
        }
        for (_, frames) in Self.malformed where frames.reduce(0, { $0 + $1.count }) < Socket.maximumFrameSize {
            fakeCoordinator.send([identity!] + frames)
        }
        Thread.sleep(forTimeInterval: 0.5)
        #expect(worker.isRunning)

        // Still answering: a real job sent now comes back as a result.
        fakeCoordinator.send([identity!] + Envelope(.heartbeat(Heartbeat(sender: "fake", session: "fake-session"))).encode())
        fakeCoordinator.send([identity!] + Envelope(.job(JobOrder(job: 7, attempt: 1, kind: "noop", payload: "{}", leaseMilliseconds: 5000))).encode())
        var result: JobResult?
        try waitUntil("no RESULT after the malformed messages", timeout: .seconds(10)) {
            _ = try poll([.socket(fakeCoordinator)], timeout: .milliseconds(100))
            while let frames = try fakeCoordinator.receive() {
                if case .result(let body) = try Envelope.decode(Array(frames.dropFirst())).message { result = body }
            }
            return result != nil
        }
        #expect(result?.job == 7)
        #expect(worker.output.contains("malformed coordinator message rejected"))
    }
}
