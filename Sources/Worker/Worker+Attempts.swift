// Running attempts on their own threads and sending their outcomes.
import Foundation
import ServiceSupport
import Wire

/// An attempt in progress.
struct RunningAttempt {
    /// Index of the coordinator link the job came from; the outcome goes back there.
    let link: Int
    let abandoned: AbandonFlag
}

/// Set by ABANDON, read by the handler's thread.
final class AbandonFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

/// Messages from attempt threads to the worker's loop, with a pipe that wakes the loop's poll.
final class Outbox: @unchecked Sendable {
    struct Item {
        let attempt: JobAttempt
        let link: Int
        /// False for PROGRESS, which does not end the attempt.
        let finishesAttempt: Bool
        let envelope: Envelope
    }

    private let lock = NSLock()
    private var items: [Item] = []
    private let pipeDescriptors: [Int32]

    init() {
        var descriptors: [Int32] = [0, 0]
        precondition(pipe(&descriptors) == 0, "cannot create the worker's wake-up pipe")
        _ = fcntl(descriptors[0], F_SETFL, O_NONBLOCK)
        _ = fcntl(descriptors[1], F_SETFL, O_NONBLOCK)
        pipeDescriptors = descriptors
    }

    var wakeDescriptor: Int32 { pipeDescriptors[0] }

    func post(_ item: Item) {
        lock.withLock { items.append(item) }
        var byte: UInt8 = 1
        _ = write(pipeDescriptors[1], &byte, 1)
    }

    func takeAll() -> [Item] {
        var buffer = [UInt8](repeating: 0, count: 256)
        while read(pipeDescriptors[0], &buffer, buffer.count) > 0 {}
        return lock.withLock {
            defer { items.removeAll() }
            return items
        }
    }
}

extension Worker {
    func start(_ order: JobOrder, attachments: [Attachment], from link: Int) {
        let attempt = JobAttempt(job: order.job, attempt: order.attempt)
        guard let handler = handlers[order.kind] else {
            logger.error("job of unknown kind rejected", ["job": order.job, "attempt": order.attempt, "kind": order.kind])
            send(.failed(JobFailure(job: order.job, attempt: order.attempt,
                                    error: "worker \(configuration.name) has no handler for job kind '\(order.kind)'", retryable: true)), on: link)
            return
        }
        if running.count >= configuration.concurrency {
            logger.warning("job accepted beyond concurrency", ["job": order.job, "attempt": order.attempt, "running": running.count])
        }
        let abandoned = AbandonFlag()
        running[attempt] = RunningAttempt(link: link, abandoned: abandoned)
        logger.info("job started", ["job": order.job, "attempt": order.attempt, "kind": order.kind, "worker": configuration.name])

        let outbox = self.outbox
        let context = JobContext(
            order: order, attachments: attachments,
            isAbandoned: { abandoned.isSet },
            reportProgress: { fraction, stage in
                outbox.post(.init(attempt: attempt, link: link, finishesAttempt: false,
                                  envelope: Envelope(.progress(Progress(job: order.job, attempt: order.attempt, fraction: fraction, stage: stage)))))
            })
        Thread.detachNewThread {
            let envelope: Envelope
            do {
                let output = try handler.run(context)
                envelope = Envelope(.result(JobResult(job: order.job, attempt: order.attempt, result: output.result)), attachments: output.attachments)
            } catch let error as JobError {
                envelope = Envelope(.failed(JobFailure(job: order.job, attempt: order.attempt, error: error.description, retryable: error.retryable)))
            } catch {
                envelope = Envelope(.failed(JobFailure(job: order.job, attempt: order.attempt, error: "\(error)", retryable: true)))
            }
            outbox.post(.init(attempt: attempt, link: link, finishesAttempt: true, envelope: envelope))
        }
    }

    /// Sends what attempt threads posted; an abandoned attempt's outcome is dropped.
    func sendFinishedAttempts() {
        for item in outbox.takeAll() {
            guard let job = running[item.attempt] else { continue }
            if item.finishesAttempt { running[item.attempt] = nil }
            if job.abandoned.isSet { continue }
            send(item.envelope.message, attachments: item.envelope.attachments, on: item.link)
            if item.finishesAttempt {
                logger.info("job finished", ["job": item.attempt.job, "attempt": item.attempt.attempt, "outcome": item.envelope.message.name])
            }
        }
    }

    /// Ends the attempts still running at the shutdown timeout as retryable failures.
    func handBackRunningAttempts() {
        for (attempt, job) in running {
            job.abandoned.set()
            send(.failed(JobFailure(job: attempt.job, attempt: attempt.attempt,
                                    error: "handed back: worker \(configuration.name) shut down before the attempt finished", retryable: true)), on: job.link)
            logger.warning("attempt handed back", ["job": attempt.job, "attempt": attempt.attempt])
        }
        running.removeAll()
    }
}
