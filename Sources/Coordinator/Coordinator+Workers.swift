// The worker protocol at the coordinator: credits, dispatch, heartbeats, results, failures.
import Foundation
import JobStore
import ServiceSupport
import Wire

extension Coordinator {
    /// Reads every waiting worker message; results are collected and recorded in one batch.
    func drainWorkerMessages() {
        for _ in 0..<1000 {
            let frames: [Data]?
            do {
                frames = try workerSocket.receive()
            } catch {
                logger.error("receiving from workers failed", ["error": error])
                return
            }
            guard let frames else { return }
            guard frames.count >= 2, let worker = String(data: frames[0], encoding: .utf8), !worker.isEmpty else {
                workerProtocolErrors.report("message without a readable worker ID rejected", DecodingError(description: "\(frames.count) frame(s)"), .warning)
                continue
            }
            do {
                handle(try Envelope.decode(Array(frames.dropFirst())), from: worker)
            } catch {
                workerProtocolErrors.report("malformed worker message rejected", WorkerMessageError(worker: worker, underlying: error), .warning)
            }
        }
    }

    private func handle(_ envelope: Envelope, from worker: String) {
        let session: String?
        switch envelope.message {
        case .ready(let ready): session = ready.session
        case .heartbeat(let heartbeat): session = heartbeat.session
        case .result, .failed, .progress, .bye: session = nil
        default:
            workerProtocolErrors.report("unexpected message on the worker endpoint rejected",
                                        WorkerMessageError(worker: worker, underlying: DecodingError(description: "type \(envelope.message.name)")), .warning)
            return
        }
        let introduced = register(worker, session: session)

        switch envelope.message {
        case .ready(let ready):
            // Slots in the message that introduced the worker are void: the hello just sent
            // makes it grant them again, and counting both would over-commit it.
            if !introduced { workers[worker]?.credits += max(0, ready.slots) }
            workers[worker]?.capacity = ready.capacity
            workers[worker]?.kinds = ready.kinds
            workers[worker]?.modelVersion = ready.modelVersion
            workers[worker]?.leaving = false
            logger.debug("worker ready", ["worker": worker, "slots": ready.slots, "model": ready.modelVersion])
        case .heartbeat(let heartbeat):
            extendLeases(of: worker, running: heartbeat.running)
        case .progress(let progress):
            logger.debug("job progress", ["job": progress.job, "attempt": progress.attempt, "worker": worker,
                                          "stage": progress.stage, "fraction": progress.fraction])
        case .result(let result):
            workers[worker]?.inFlight.remove(JobAttempt(job: result.job, attempt: result.attempt))
            pendingResults.append((worker, result, envelope.attachments))
        case .failed(let failure):
            workers[worker]?.inFlight.remove(JobAttempt(job: failure.job, attempt: failure.attempt))
            pendingFailures.append((worker, failure))
        case .bye:
            workers[worker]?.leaving = true
            workers[worker]?.credits = 0
            logger.info("worker leaving", ["worker": worker, "in_flight": workers[worker]?.inFlight.count ?? 0])
        default:
            break
        }
    }

    /// Records that `worker` was heard from. Returns true when it is new to this coordinator or
    /// came back as a new process under the same name; it is then sent a hello so it grants
    /// its slots again, and the attempts of its previous process are released.
    private func register(_ worker: String, session: String?) -> Bool {
        let now = ContinuousClock.now
        if let known = workers[worker] {
            workers[worker]!.lastHeard = now
            guard let session, let previous = known.session, previous != session else {
                if known.session == nil { workers[worker]!.session = session }
                return false
            }
            logger.warning("worker restarted", ["worker": worker, "in_flight": known.inFlight.count])
            for attempt in known.inFlight {
                releaseAttempt(attempt, of: worker, reason: "worker \(worker) restarted while running the attempt")
            }
            workers[worker] = ConnectedWorker(name: worker, session: session, lastHeard: now)
        } else {
            logger.info("worker connected", ["worker": worker])
            workers[worker] = ConnectedWorker(name: worker, session: session, lastHeard: now)
        }
        send(.heartbeat(Heartbeat(sender: configuration.name, session: self.session, hello: true)), to: worker)
        return true
    }

    // MARK: Dispatch

    /// Claims jobs for every worker with credits and sends them.
    func dispatch() {
        var claimedAll = true
        for worker in workers.dispatchable {
            let jobs: [ClaimedJob]
            do {
                jobs = try leaseQueue.claim(owner: worker.name, limit: worker.credits, lease: configuration.lease,
                                       kinds: worker.kinds.isEmpty ? nil : worker.kinds)
            } catch {
                databaseErrors.report("claiming jobs failed", error)
                return
            }
            if jobs.count < worker.credits { claimedAll = false }
            for job in jobs {
                workers[worker.name]?.credits -= 1
                let attempt = JobAttempt(job: job.id, attempt: job.attempt)
                if job.kind == StudyStore.analyzeKind, let studyID = job.studyID {
                    // Sent when its volumes have been read (`deliverAnalyzeInputs`). In flight
                    // meanwhile, so that a cancel or the worker's death releases it.
                    workers[worker.name]?.inFlight.insert(attempt)
                    workers[worker.name]?.awaitingInputs.insert(attempt)
                    reads.readAnalyzeInputs(of: job, study: studyID, for: worker.name)
                    continue
                }
                var payload = job.payload
                if job.kind == StudyStore.trackKind, let patient = trackedPatient(job.payload) {
                    do {
                        payload = try studies.trackInputs(patient: patient)
                    } catch {
                        logger.error("inputs of a job could not be read", ["job": job.id, "kind": job.kind, "error": error])
                        releaseAttempt(attempt, of: worker.name, reason: "its inputs could not be read: \(error)")
                        continue
                    }
                }
                sendJob(JobAttempt(job: job.id, attempt: job.attempt), kind: job.kind, payload: payload, attachments: [], to: worker.name)
            }
        }
        if !claimedAll { workMayBeQueued = false }
    }

    /// Sends JOB to `worker` and records the attempt in flight, or releases the attempt when
    /// the worker cannot be reached.
    private func sendJob(_ attempt: JobAttempt, kind: String, payload: String, attachments: [Attachment], to worker: String) {
        let order = JobOrder(job: attempt.job, attempt: attempt.attempt, kind: kind, payload: payload,
                             leaseMilliseconds: configuration.lease.milliseconds)
        guard send(.job(order), attachments: attachments, to: worker) else {
            // The worker is gone; give the attempt back instead of waiting for its lease.
            logger.warning("job not delivered to worker", ["job": attempt.job, "attempt": attempt.attempt, "worker": worker])
            workers[worker]?.inFlight.remove(attempt)
            releaseAttempt(attempt, of: worker, reason: "could not be delivered to worker \(worker)")
            return
        }
        workers[worker]?.inFlight.insert(attempt)
        logger.debug("job dispatched", ["job": attempt.job, "attempt": attempt.attempt, "worker": worker, "kind": kind])
    }

    /// Sends an analyze attempt whose inputs `BackgroundReads` has read, unless the attempt
    /// ended meanwhile: cancelled, its worker declared dead, or its lease lost while the
    /// volumes were read. A stopping coordinator gives it back instead.
    func deliverAnalyzeInputs(attempt: JobAttempt, kind: String, worker: String, result: Result<AnalyzeInputs, Error>, stopping: Bool) {
        workers[worker]?.awaitingInputs.remove(attempt)
        guard workers[worker]?.inFlight.contains(attempt) == true else {
            logger.info("inputs read for an attempt that has ended", ["job": attempt.job, "attempt": attempt.attempt, "worker": worker])
            return
        }
        let inputs: AnalyzeInputs
        switch result {
        case .success(let read):
            inputs = read
        case .failure(let error):
            logger.error("inputs of a job could not be read", ["job": attempt.job, "kind": kind, "error": error])
            workers[worker]?.inFlight.remove(attempt)
            releaseAttempt(attempt, of: worker, reason: "its inputs could not be read: \(error)")
            return
        }
        guard !stopping else {
            workers[worker]?.inFlight.remove(attempt)
            releaseAttempt(attempt, of: worker, reason: "the coordinator stopped before sending it")
            return
        }
        sendJob(attempt, kind: kind, payload: inputs.payload, attachments: inputs.attachments, to: worker)
    }

    // MARK: Leases and liveness

    private func extendLeases(of worker: String, running: [JobAttempt]) {
        // Attempts the worker no longer reports have stopped, so forget that they were abandoned.
        // One it still reports gets ABANDON again, in case the first was lost, but no log line.
        workers[worker]?.abandoned.formIntersection(running)
        let abandoned = workers[worker]?.abandoned ?? []
        for attempt in running where abandoned.contains(attempt) {
            abandon(attempt, of: worker)
        }
        let reported = running.filter { !abandoned.contains($0) }
        workers[worker]?.inFlight.formUnion(reported)
        renewLeasesAwaitingInputs(of: worker)
        guard !reported.isEmpty else { return }
        do {
            let held = try leaseQueue.heartbeat(owner: worker, attempts: reported.map { ($0.job, $0.attempt) }, lease: configuration.lease)
            for attempt in reported where !held.contains(attempt.job) {
                workers[worker]?.inFlight.remove(attempt)
                workers[worker]?.abandoned.insert(attempt)
                abandon(attempt, of: worker)
                logger.warning("attempt abandoned: lease lost", ["job": attempt.job, "attempt": attempt.attempt, "worker": worker])
            }
        } catch {
            databaseErrors.report("extending leases failed", error)
        }
    }

    /// Renews the leases of `worker`'s attempts whose inputs are still being read. One whose
    /// lease was lost meanwhile (cancelled, or expired and claimed again) is dropped: the worker
    /// never heard of it.
    private func renewLeasesAwaitingInputs(of worker: String) {
        guard let awaiting = workers[worker]?.awaitingInputs, !awaiting.isEmpty else { return }
        do {
            let renewed = try leaseQueue.heartbeat(owner: worker, attempts: awaiting.map { ($0.job, $0.attempt) }, lease: configuration.lease)
            for attempt in awaiting where !renewed.contains(attempt.job) {
                workers[worker]?.awaitingInputs.remove(attempt)
                workers[worker]?.inFlight.remove(attempt)
                logger.warning("attempt dropped: lease lost while its inputs were read", ["job": attempt.job, "attempt": attempt.attempt, "worker": worker])
            }
        } catch {
            databaseErrors.report("extending leases failed", error)
        }
    }

    /// Tells `worker` to drop `attempt`, whose lease no longer holds its job.
    private func abandon(_ attempt: JobAttempt, of worker: String) {
        send(.abandon(Abandon(job: attempt.job, attempt: attempt.attempt, reason: "the attempt no longer holds the job")), to: worker)
    }

    func sendHeartbeats() {
        for worker in workers.workers.keys {
            send(.heartbeat(Heartbeat(sender: configuration.name, session: session)), to: worker)
        }
    }

    /// Forgets workers silent for `missedHeartbeats` intervals and requeues their attempts now
    /// rather than when the leases expire.
    func declareSilentWorkersDead() {
        let deadline = ContinuousClock.now - configuration.heartbeatInterval * configuration.missedHeartbeats
        for worker in workers.removeSilent(since: deadline) {
            // A worker that announced its exit with BYE and ended its attempts has left as announced.
            if worker.leaving && worker.inFlight.isEmpty {
                logger.info("worker left", ["worker": worker.name])
                continue
            }
            logger.warning("worker declared dead", ["worker": worker.name, "missed_heartbeats": configuration.missedHeartbeats,
                                                    "in_flight": worker.inFlight.count])
            for attempt in worker.inFlight {
                releaseAttempt(attempt, of: worker.name, reason: "worker \(worker.name) missed \(configuration.missedHeartbeats) heartbeats")
            }
        }
    }

    /// Ends an attempt as a retryable failure; a stale attempt is left alone.
    private func releaseAttempt(_ attempt: JobAttempt, of worker: String, reason: String) {
        do {
            let outcome = try queue.fail(job: attempt.job, attempt: attempt.attempt, owner: worker, error: reason, retryable: true)
            workMayBeQueued = true
            logger.warning("attempt released", ["job": attempt.job, "attempt": attempt.attempt, "worker": worker, "outcome": outcome])
        } catch JobStoreError.staleAttempt {
            return
        } catch {
            databaseErrors.report("releasing an attempt failed", error)
        }
    }

    // MARK: Outcomes

    /// Records the collected results in one statement and acknowledges each.
    func recordPendingResults() {
        guard !pendingResults.isEmpty else { return }
        let batch = pendingResults
        let accepted: Set<Int64>
        do {
            // Completions commit together with what they write back: the lesions and files of
            // analyses, the tracking jobs that follow them, and the outcome of tracking.
            accepted = try queue.connection.transaction {
                let accepted = try queue.complete(batch: batch.map { ($0.result.job, $0.result.attempt, $0.worker, $0.result.result) })
                for pending in batch where accepted.contains(pending.result.job) && !pending.attachments.isEmpty {
                    try studies.storeResultFiles(job: pending.result.job, files: pending.attachments.map {
                        ($0.name, $0.data, $0.name.hasSuffix(".png") ? "image/png" : "application/octet-stream")
                    })
                }
                try studies.storeLesions(ofJobs: Array(accepted))
                try studies.enqueueTracking(afterJobs: Array(accepted))
                try studies.storeTracking(ofJobs: Array(accepted))
                return accepted
            }
        } catch {
            // Kept for the next loop; completion is idempotent, so a batch that did commit is harmless to repeat.
            databaseErrors.report("recording results failed", error)
            return
        }
        pendingResults.removeAll()
        // A finished job may let the next job of its serial key run.
        if !accepted.isEmpty { workMayBeQueued = true }
        for (worker, result, _) in batch {
            let isAccepted = accepted.contains(result.job)
            if isAccepted {
                logger.debug("job succeeded", ["job": result.job, "attempt": result.attempt, "worker": worker])
            } else {
                logger.warning("stale result rejected", ["job": result.job, "attempt": result.attempt, "worker": worker])
            }
            send(.acknowledgement(Acknowledgement(job: result.job, attempt: result.attempt, accepted: isAccepted,
                                                  reason: isAccepted ? nil : "the attempt no longer holds the job")), to: worker)
        }
    }

    /// Records the collected failures; those hit by a database error stay for the next loop.
    func recordPendingFailures() {
        while let (worker, failure) = pendingFailures.first {
            guard recordFailure(failure, from: worker) else { return }
            pendingFailures.removeFirst()
        }
    }

    /// Records one failure and acknowledges it; returns false when the database could not be reached.
    private func recordFailure(_ failure: JobFailure, from worker: String) -> Bool {
        do {
            let outcome = try queue.fail(job: failure.job, attempt: failure.attempt, owner: worker, error: failure.error, retryable: failure.retryable)
            if case .retryScheduled = outcome { workMayBeQueued = true }
            logger.warning("job attempt failed", ["job": failure.job, "attempt": failure.attempt, "worker": worker,
                                                  "retryable": failure.retryable, "outcome": outcome, "error": failure.error])
            send(.acknowledgement(Acknowledgement(job: failure.job, attempt: failure.attempt, accepted: true)), to: worker)
        } catch let error as JobStoreError where error.isConnectionError {
            databaseErrors.report("recording a failure failed", error)
            return false
        } catch let error as JobStoreError {
            let stale: Bool
            switch error {
            case .staleAttempt, .jobNotFound: stale = true
            default: stale = false
            }
            // Any other database error would repeat on every retry: the failure is dropped, and
            // the attempt's lease expiry retries the job instead.
            logger.log(stale ? .warning : .error, stale ? "stale failure rejected" : "recording a failure failed; the lease will expire instead",
                       ["job": failure.job, "attempt": failure.attempt, "worker": worker, "error": error])
            send(.acknowledgement(Acknowledgement(job: failure.job, attempt: failure.attempt, accepted: false,
                                                  reason: stale ? "the attempt no longer holds the job" : "the failure could not be recorded")), to: worker)
        } catch {
            databaseErrors.report("recording a failure failed", error)
            return false
        }
        return true
    }
}

/// A protocol error with the worker that caused it, for logs.
struct WorkerMessageError: Error, CustomStringConvertible {
    let worker: String
    let underlying: Error
    var description: String { "worker \(worker): \(underlying)" }
}
