// The client protocol at the coordinator: submit, upload, status, cancel, history, export.
import Foundation
import JobStore
import ServiceSupport
import Wire

extension Coordinator {
    /// Replies to every waiting client request.
    func drainClientMessages() {
        for _ in 0..<100 {
            let frames: [Data]?
            do {
                frames = try clientSocket.receive()
            } catch {
                logger.error("receiving from clients failed", ["error": error])
                return
            }
            guard let frames else { return }
            guard frames.count >= 1 else { continue }
            let client = frames[0]
            do {
                let envelope = try Envelope.decode(Array(frames.dropFirst()))
                handle(envelope.message, attachments: envelope.attachments, from: client)
            } catch {
                clientProtocolErrors.report("malformed client request rejected", error, .warning)
                reply(.error(ErrorReply(request: nil, message: "malformed request: \(error)")), to: client)
            }
        }
    }

    private func handle(_ message: Message, attachments: [Attachment], from client: Data) {
        do {
            switch message {
            case .submitNoop(let submit):
                try submitNoop(submit, from: client)
            case .status(let request):
                if let problem = limitViolation(of: request) {
                    reply(.error(ErrorReply(request: request.request, message: problem)), to: client)
                } else {
                    reply(.statusReply(try status(request)), to: client)
                }
            case .cancel(let request):
                reply(.cancelReply(try cancel(request)), to: client)
            case .retry(let request):
                reply(.retryReply(try retry(request)), to: client)
            case .submitStudy(let submission):
                submitStudy(submission, attachments: attachments, from: client)
            case .uploadPart(let part):
                uploadPart(part, attachments: attachments, from: client)
            case .history(let request):
                reply(try history(request), to: client)
            case .export(let request):
                reads.export(request, for: client)
            default:
                reply(.error(ErrorReply(request: nil, message: "\(message.name) is not a client request")), to: client)
            }
        } catch JobStoreError.jobNotFound(let job) {
            // The client's mistake, so it is logged as information, not among the database errors.
            logger.info("requested job not found", ["job": job, "request": message.name])
            reply(.error(ErrorReply(request: requestID(of: message), message: "job \(job) not found")), to: client)
        } catch {
            databaseErrors.report("client request failed", error)
            reply(.error(ErrorReply(request: requestID(of: message), message: "request failed: \(error)")), to: client)
        }
    }

    private func submitNoop(_ submit: SubmitNoop, from client: Data) throws {
        guard (1...100_000).contains(submit.count) else {
            reply(.error(ErrorReply(request: submit.request, message: "count must be between 1 and 100000, got \(submit.count)")), to: client)
            return
        }
        guard (try? JSONSerialization.jsonObject(with: Data(submit.payload.utf8))) is [String: Any] else {
            reply(.error(ErrorReply(request: submit.request, message: "payload must be a JSON object")), to: client)
            return
        }
        var ids: [Int64] = []
        for start in stride(from: 0, to: submit.count, by: 1000) {
            let jobs = (start..<min(start + 1000, submit.count)).map { _ in NewJob(kind: "noop", payload: submit.payload) }
            ids += try queue.enqueue(batch: jobs)
        }
        workMayBeQueued = true
        logger.info("no-op jobs submitted", ["count": ids.count, "first_job": ids.first ?? 0])
        reply(.submitted(Submitted(request: submit.request, jobs: ids)), to: client)
    }

    /// Returns why a STATUS request names too many jobs or studies, or nil when it does not.
    private func limitViolation(of request: StatusRequest) -> String? {
        if request.jobs.count > StatusRequest.maximumJobs {
            return "STATUS names \(request.jobs.count) jobs, more than the \(StatusRequest.maximumJobs) one request may name: split it into several requests"
        }
        if let studies = request.studies, studies.count > StatusRequest.maximumStudies {
            return "STATUS names \(studies.count) studies, more than the \(StatusRequest.maximumStudies) one request may name: split it into several requests"
        }
        return nil
    }

    private func status(_ request: StatusRequest) throws -> StatusReply {
        let counts = try queue.connection.execute("SELECT state::text, count(*) FROM jobs GROUP BY state")
        var byState: [String: Int] = [:]
        for row in counts.rows { byState[row[0]!] = Int(row[1]!)! }

        var jobs: [JobStatus] = []
        for id in request.jobs {
            guard let job = try queue.job(id) else { continue }
            jobs.append(JobStatus(id: job.id, kind: job.kind, state: job.state.rawValue, attempt: job.attempt,
                                  errors: job.errors.suffix(5).map { "attempt \($0.attempt): \($0.error)" }))
        }
        var studies: [StudyStatus] = []
        for study in request.studies ?? [] {
            guard let row = try queue.connection.execute("""
                SELECT a.id, coalesce(a.state::text, 'none'), (SELECT count(*) FROM lesions WHERE study_id = s.id),
                       coalesce((SELECT state::text FROM jobs WHERE serial_key = 'track:' || s.patient_id ORDER BY id DESC LIMIT 1), 'none'),
                       EXISTS (SELECT 1 FROM jobs WHERE serial_key = 'track:' || s.patient_id AND state IN ('queued', 'running'))
                FROM studies s LEFT JOIN jobs a ON a.study_id = s.id AND a.kind = 'analyze'
                WHERE s.id = $1
                """, [study]).rows.first else { continue }
            studies.append(StudyStatus(study: study, analyzeJob: row[0].flatMap(Int64.init), analysis: row[1]!, lesions: Int(row[2]!)!,
                                       tracking: row[3]!, trackingPending: row[4] == "t"))
        }
        var workersByKind: [String: Int] = [:]
        for worker in workers.workers.values {
            for kind in worker.kinds { workersByKind[kind, default: 0] += 1 }
        }
        return StatusReply(request: request.request, counts: byState, jobs: jobs, studies: request.studies == nil ? nil : studies,
                           workersByKind: workersByKind, session: session)
    }

    private func cancel(_ request: CancelRequest) throws -> CancelReply {
        let holder = workers.holder(of: request.job)
        let cancelled = try queue.cancel(job: request.job)
        if cancelled, let holder, let attempt = holder.inFlight.first(where: { $0.job == request.job }) {
            workers[holder.name]?.inFlight.remove(attempt)
            workers[holder.name]?.abandoned.insert(attempt)
            send(.abandon(Abandon(job: attempt.job, attempt: attempt.attempt, reason: "cancelled on request")), to: holder.name)
        }
        logger.info("job cancel requested", ["job": request.job, "cancelled": cancelled])
        return CancelReply(request: request.request, job: request.job, cancelled: cancelled)
    }

    private func retry(_ request: RetryRequest) throws -> RetryReply {
        let retried = try queue.retry(job: request.job)
        if retried { workMayBeQueued = true }
        logger.info("job retry requested", ["job": request.job, "retried": retried])
        return RetryReply(request: request.request, job: request.job, retried: retried)
    }

    /// Returns the request ID that a client request, or the reply to one, carries.
    func requestID(of message: Message) -> String? {
        switch message {
        case .submitNoop(let body): body.request
        case .status(let body): body.request
        case .cancel(let body): body.request
        case .retry(let body): body.request
        case .submitStudy(let body): body.request
        case .history(let body): body.request
        case .export(let body): body.request
        case .uploadPart(let body): body.request
        case .submitted(let body): body.request
        case .statusReply(let body): body.request
        case .cancelReply(let body): body.request
        case .retryReply(let body): body.request
        case .studySubmitted(let body): body.request
        case .historyReply(let body): body.request
        case .exportReply(let body): body.request
        case .uploadAcknowledgement(let body): body.request
        case .error(let body): body.request
        default: nil
        }
    }
}
