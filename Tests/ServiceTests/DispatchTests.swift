import Foundation
import JobStore
import Testing
import TestSupport
import Wire

/// The coordinator and workers as processes on loopback, under load and with faults.
@Suite(.serialized) struct DispatchTests {
    @Test func twoThousandJobsOverFourWorkers() throws {
        let deployment = try Deployment()
        try deployment.startCoordinator()
        for index in 0..<4 { try deployment.startWorker(name: "worker-\(index)") }

        let jobs = try deployment.submit(2000)
        #expect(jobs.count == 2000)
        try deployment.waitForAllJobsToEnd()

        #expect(try deployment.count("succeeded") == 2000)
        #expect(try deployment.value("SELECT count(*) FROM jobs WHERE attempt <> 1") == "0")
        #expect(try deployment.jobsWithInconsistentEvents() == 0)
        let workersUsed = try deployment.value("SELECT count(DISTINCT lease_owner) FROM jobs")
        #expect(workersUsed == "4", "jobs were spread over \(workersUsed ?? "?") workers")
    }

    @Test func killedWorkerJobRunsElsewhere() throws {
        let deployment = try Deployment(lease: "2", heartbeat: "0.2")
        try deployment.startCoordinator()
        let doomed = try deployment.startWorker(name: "doomed", concurrency: 1)
        let id = try #require(try deployment.submit(1, payload: "{\"sleepMilliseconds\": 1500}").first)
        try waitUntil("job \(id) never started on the first worker") {
            try deployment.value("SELECT lease_owner FROM jobs WHERE id = $1 AND state = 'running'", [id]) == "doomed"
        }

        doomed.signal(SIGKILL)
        try deployment.startWorker(name: "survivor", concurrency: 1)
        try deployment.waitForAllJobsToEnd()
        #expect(try deployment.value("SELECT state::text || ' ' || attempt || ' ' || lease_owner FROM jobs WHERE id = $1", [id]) == "succeeded 2 survivor")
        #expect(try deployment.jobsWithInconsistentEvents() == 0)

        // The dead worker's result for attempt 1 arrives late: it must be rejected.
        let impostor = try Socket(.dealer, identity: "doomed")
        try impostor.connect(deployment.workerEndpoint)
        impostor.send(Envelope(.result(JobResult(job: id, attempt: 1, result: "{\"late\": true}"))).encode())
        var acknowledgement: Acknowledgement?
        try waitUntil("no ACK for the replayed result", timeout: .seconds(10)) {
            _ = try poll([.socket(impostor)], timeout: .milliseconds(100))
            while let frames = try impostor.receive() {
                if case .acknowledgement(let ack) = try Envelope.decode(frames).message { acknowledgement = ack }
            }
            return acknowledgement != nil
        }
        #expect(acknowledgement?.accepted == false)
        #expect(try deployment.value("SELECT result->>'late' FROM jobs WHERE id = $1", [id]) == nil)
        #expect(try deployment.value("SELECT count(*) FROM job_events WHERE job_id = $1 AND to_state = 'succeeded'", [id]) == "1")
    }

    @Test func crashingJobEndsDeadOthersFlow() throws {
        let deployment = try Deployment(lease: "2", heartbeat: "0.2")
        try deployment.startCoordinator()
        var workerNumber = 0
        func replaceExitedWorkers() throws {
            for (index, worker) in deployment.workers.enumerated() where !worker.isRunning {
                workerNumber += 1
                deployment.workers[index] = try ServiceProcess([
                    "worker", "--no-model", "--coordinator", deployment.workerEndpoint, "--name", "worker-\(workerNumber)",
                    "--concurrency", "1", "--heartbeat", deployment.heartbeat,
                ], label: "worker-\(workerNumber)")
            }
        }
        for _ in 0..<2 {
            workerNumber += 1
            try deployment.startWorker(name: "worker-\(workerNumber)", concurrency: 1)
        }

        let poison = try #require(try deployment.submit(1, payload: "{\"crash\": true}").first)
        let others = try deployment.submit(30, payload: "{\"sleepMilliseconds\": 20}")
        try waitUntil("jobs did not all end", timeout: .seconds(120)) {
            try replaceExitedWorkers()
            return try deployment.value("SELECT count(*) FROM jobs WHERE state IN ('queued', 'running')") == "0"
        }

        #expect(try deployment.value("SELECT state::text FROM jobs WHERE id = $1", [poison]) == "dead")
        #expect(try deployment.value("SELECT jsonb_array_length(errors) FROM jobs WHERE id = $1", [poison]) == "5")
        #expect(try deployment.value("SELECT attempt FROM jobs WHERE id = $1", [poison]) == "5")
        #expect(try deployment.value("SELECT count(*) FROM jobs WHERE id = ANY($1::bigint[]) AND state = 'succeeded'",
                                     ["{\(others.map(String.init).joined(separator: ","))}"]) == "30")
        #expect(workerNumber >= 6, "each of the 5 attempts should have killed a worker")
    }

    @Test func cancelledRunningJobLoggedOnceAndRetried() throws {
        // The handler does not look at ABANDON for 2 s, so ten heartbeats pass before it stops.
        let deployment = try Deployment(lease: "3", heartbeat: "0.2")
        let coordinator = try deployment.startCoordinator()
        let worker = try deployment.startWorker(name: "busy", concurrency: 1)
        let id = try #require(try deployment.submit(1, payload: "{\"busyMilliseconds\": 2000}").first)
        try waitUntil("the job never started") {
            try deployment.value("SELECT state::text FROM jobs WHERE id = $1", [id]) == "running"
        }
        let reply = try deployment.request(.cancel(CancelRequest(request: "cancel", job: id)))
        guard case .cancelReply(let cancelled) = reply, cancelled.cancelled else {
            Issue.record("the job was not cancelled: \(reply)")
            return
        }
        Thread.sleep(forTimeInterval: 3)

        #expect(try deployment.value("SELECT state::text FROM jobs WHERE id = $1", [id]) == "cancelled")
        #expect(worker.output.components(separatedBy: "attempt abandoned").count - 1 == 1, "\(worker.output)")
        #expect(!coordinator.output.contains("lease lost"), "\(coordinator.output)")

        // `stdnet retry` queues the cancelled job again, and the worker runs it to the end.
        let retry = try ServiceProcess(["retry", String(id), "--coordinator", deployment.clientEndpoint], label: "retry")
        #expect(retry.wait(timeout: .seconds(30)) == 0, "\(retry.output)")
        #expect(retry.output.contains("job \(id) queued again"), "\(retry.output)")
        try waitUntil("the retried job did not succeed") {
            try deployment.value("SELECT state::text || ' ' || attempt FROM jobs WHERE id = $1", [id]) == "succeeded 2"
        }
        let again = try ServiceProcess(["retry", String(id), "--coordinator", deployment.clientEndpoint], label: "retry-again")
        #expect(again.wait(timeout: .seconds(30)) == 1, "\(again.output)")
        #expect(again.output.contains("job \(id) (succeeded) is not dead or cancelled; nothing to retry"), "\(again.output)")

        // Cancel and retry exit with 1 alike when they change nothing or the job is missing.
        let cancelEnded = try ServiceProcess(["cancel", String(id), "--coordinator", deployment.clientEndpoint], label: "cancel-ended")
        #expect(cancelEnded.wait(timeout: .seconds(30)) == 1, "\(cancelEnded.output)")
        #expect(cancelEnded.output.contains("job \(id) (succeeded) had already ended; nothing to cancel"), "\(cancelEnded.output)")
        for command in ["cancel", "retry"] {
            let missing = try ServiceProcess([command, "9999", "--coordinator", deployment.clientEndpoint], label: "\(command)-missing")
            #expect(missing.wait(timeout: .seconds(30)) == 1, "\(missing.output)")
            #expect(missing.output.contains("stdnet \(command): the coordinator rejected the request: job 9999 not found"),
                    "\(missing.output)")
        }
        #expect(!coordinator.output.contains("client request failed"), "a missing job was logged as a database failure")
    }

    @Test func heartbeatsKeepLongJobLease() throws {
        let deployment = try Deployment(lease: "1", heartbeat: "0.2")
        try deployment.startCoordinator()
        try deployment.startWorker(name: "patient", concurrency: 1)
        let id = try #require(try deployment.submit(1, payload: "{\"sleepMilliseconds\": 3000}").first)
        try deployment.waitForAllJobsToEnd()

        #expect(try deployment.value("SELECT state::text || ' ' || attempt FROM jobs WHERE id = $1", [id]) == "succeeded 1")
        #expect(try deployment.value("SELECT count(*) FROM job_events WHERE job_id = $1 AND detail = 'lease expired'", [id]) == "0")
        #expect(try deployment.value("SELECT extract(epoch FROM finalized_at - attempted_at) >= 3 FROM jobs WHERE id = $1", [id]) == "t")
    }

    /// A restarted coordinator learns a busy worker's job kinds before the worker has a free
    /// slot, so STATUS does not report that no worker runs them.
    @Test func restartedCoordinatorKnowsBusyWorker() throws {
        let deployment = try Deployment(lease: "5", heartbeat: "0.2")
        let first = try deployment.startCoordinator(name: "first")
        try deployment.startWorker(name: "busy", concurrency: 1)
        let id = try #require(try deployment.submit(1, payload: "{\"sleepMilliseconds\": 15000}").first)
        try waitUntil("the job never started") {
            try deployment.value("SELECT state::text FROM jobs WHERE id = $1", [id]) == "running"
        }
        first.signal(SIGKILL)
        try deployment.startCoordinator(name: "second")
        let restarted = ContinuousClock.now

        try waitUntil("the restarted coordinator never listed the busy worker's kinds", timeout: .seconds(10)) {
            let reply = try deployment.request(.status(StatusRequest(request: UUID().uuidString, jobs: [id])))
            guard case .statusReply(let status) = reply else { throw TestFailure("STATUS got \(reply)") }
            return status.workersByKind?["noop"] == 1
        }
        #expect(ContinuousClock.now - restarted < .seconds(10))
        #expect(try deployment.value("SELECT state::text FROM jobs WHERE id = $1", [id]) == "running")
    }

    @Test func coordinatorKilledAndRestarted() throws {
        let deployment = try Deployment(lease: "2", heartbeat: "0.2")
        let first = try deployment.startCoordinator(name: "first")
        for index in 0..<2 { try deployment.startWorker(name: "worker-\(index)") }
        let jobs = try deployment.submit(300, payload: "{\"sleepMilliseconds\": 20}")
        try waitUntil("no job succeeded before the kill") { try deployment.count("succeeded") >= 50 }

        first.signal(SIGKILL)
        #expect(try deployment.count("succeeded") < 300, "all jobs ended before the coordinator was killed")
        Thread.sleep(forTimeInterval: 0.5)
        try deployment.startCoordinator(name: "second")
        try deployment.waitForAllJobsToEnd()

        #expect(jobs.count == 300)
        #expect(try deployment.count("succeeded") == 300)
        #expect(try deployment.jobsWithInconsistentEvents() == 0)
    }

    @Test func twoCoordinatorsNeverDispatchAttemptTwice() throws {
        let deployment = try Deployment()
        let secondWorkerEndpoint = "tcp://127.0.0.1:\(freePort())"
        let secondClientEndpoint = "tcp://127.0.0.1:\(freePort())"
        try deployment.startCoordinator(name: "east")
        try deployment.startCoordinator(workerEndpoint: secondWorkerEndpoint, clientEndpoint: secondClientEndpoint, name: "west")
        for index in 0..<4 {
            try deployment.startWorker(name: "worker-\(index)", coordinators: [deployment.workerEndpoint, secondWorkerEndpoint])
        }

        _ = try deployment.submit(600)
        _ = try deployment.submit(600, endpoint: secondClientEndpoint)
        try deployment.waitForAllJobsToEnd()

        #expect(try deployment.count("succeeded") == 1200)
        #expect(try deployment.value("""
            SELECT count(*) FROM (SELECT job_id, attempt FROM job_events WHERE to_state = 'running'
                                  GROUP BY job_id, attempt HAVING count(*) > 1) AS twice
            """) == "0")
        #expect(try deployment.jobsWithInconsistentEvents() == 0)
    }
}

/// SIGTERM and SIGINT stop the services without losing or repeating work.
/// Heartbeats are 0.5 s here: at 0.2 s a process starved of CPU on a loaded machine can miss three
/// and be declared dead, which these tests are not about.
@Suite(.serialized) struct ShutdownTests {
    @Test func workerFinishesJobOnSigterm() throws {
        let deployment = try Deployment(lease: "5", heartbeat: "0.5")
        let coordinator = try deployment.startCoordinator()
        let worker = try deployment.startWorker(name: "leaving", concurrency: 1)
        let jobs = try deployment.submit(2, payload: "{\"sleepMilliseconds\": 1000}")
        try waitUntil("the first job never started") {
            try deployment.value("SELECT count(*) FROM jobs WHERE state = 'running'") == "1"
        }

        worker.signal(SIGTERM)
        #expect(worker.wait(timeout: .seconds(10)) == 0)
        // The result may still be on its way to the database when the worker has gone.
        try waitUntil("the running job did not succeed in its first attempt", timeout: .seconds(10)) {
            try deployment.value("SELECT state::text || ' ' || attempt FROM jobs WHERE id = $1", [jobs[0]]) == "succeeded 1"
        }
        #expect(try deployment.value("SELECT state::text FROM jobs WHERE id = $1", [jobs[1]]) == "queued")

        try deployment.startWorker(name: "next", concurrency: 1)
        try deployment.waitForAllJobsToEnd()
        #expect(try deployment.value("SELECT state::text || ' ' || attempt || ' ' || lease_owner FROM jobs WHERE id = $1", [jobs[1]]) == "succeeded 1 next")
        // A worker that said BYE and finished its job left; it did not die.
        try waitUntil("the coordinator never forgot the worker that left") { coordinator.output.contains("worker left") }
        #expect(!coordinator.output.contains("worker declared dead"), "\(coordinator.output)")
    }

    @Test func workerHandsBackJobAfterTimeout() throws {
        let deployment = try Deployment(lease: "5", heartbeat: "0.5")
        try deployment.startCoordinator()
        let worker = try ServiceProcess([
            "worker", "--no-model", "--coordinator", deployment.workerEndpoint, "--name", "hasty", "--heartbeat", "0.5", "--shutdown-timeout", "0.3",
        ], label: "hasty")
        defer { worker.stop() }
        let id = try #require(try deployment.submit(1, payload: "{\"sleepMilliseconds\": 5000}").first)
        try waitUntil("the job never started") { try deployment.count("running") == 1 }

        worker.signal(SIGINT)
        #expect(worker.wait(timeout: .seconds(10)) == 0)
        try waitUntil("the job was not handed back") { try deployment.count("queued") == 1 }
        #expect(try deployment.value("SELECT errors -> 0 ->> 'error' FROM jobs WHERE id = $1", [id])?.hasPrefix("handed back") == true)
    }

    @Test func coordinatorStopsOnSigterm() throws {
        let deployment = try Deployment(lease: "5", heartbeat: "0.5")
        let coordinator = try deployment.startCoordinator()
        let worker = try deployment.startWorker(name: "worker")
        _ = try deployment.submit(5)
        try deployment.waitForAllJobsToEnd()

        coordinator.signal(SIGTERM)
        #expect(coordinator.wait(timeout: .seconds(10)) == 0)
        #expect(coordinator.output.contains("coordinator stopped"))
        try waitUntil("the worker never noticed the coordinator leave; worker log:\n\(worker.output.suffix(3000))\ncoordinator log:\n\(coordinator.output.suffix(2000))") {
            worker.output.contains("coordinator leaving")
        }
        #expect(worker.isRunning)
    }
}

/// A worker process replaced by a new one under the same name before the coordinator notices.
@Suite(.serialized) struct WorkerRestartTests {
    @Test func restartUnderSameNameReleasesOldAttempts() throws {
        let deployment = try Deployment(lease: "5", heartbeat: "0.5")
        try deployment.startCoordinator()
        let first = try deployment.startWorker(name: "reused", concurrency: 1)
        let id = try #require(try deployment.submit(1, payload: "{\"sleepMilliseconds\": 2000}").first)
        try waitUntil("the job never started") { try deployment.count("running") == 1 }

        // The replacement connects well within three heartbeat intervals of the kill.
        first.signal(SIGKILL)
        first.wait(timeout: .seconds(5))
        try deployment.startWorker(name: "reused", concurrency: 1)
        try deployment.waitForAllJobsToEnd()

        #expect(try deployment.value("SELECT state::text || ' ' || attempt FROM jobs WHERE id = $1", [id]) == "succeeded 2")
        #expect(try deployment.value("SELECT errors -> 0 ->> 'error' FROM jobs WHERE id = $1", [id]) == "worker reused restarted while running the attempt")
        #expect(deployment.coordinators[0].output.contains("worker restarted worker=reused"))
    }
}
