// A serial queue for the event loop's long steps. The loop hands over each step and collects
// the outcomes on its own thread, because ZeroMQ sockets and the coordinator's state must stay
// on that thread.
import Foundation

/// Steps run one at a time on a queue of their own, and their outcomes in the order they ended.
final class BackgroundWork<Outcome>: @unchecked Sendable {
    private let queue: DispatchQueue
    private let lock = NSLock()
    private var finished: [Outcome] = []
    private var running = 0

    init(label: String) {
        queue = DispatchQueue(label: label)
    }

    /// Queues `step`; its outcome comes back from `takeFinished()`.
    func run(_ step: @escaping @Sendable () -> Outcome) {
        lock.withLock { running += 1 }
        queue.async { [self] in
            let outcome = step()
            lock.withLock {
                finished.append(outcome)
                running -= 1
            }
        }
    }

    /// Returns the outcomes of the steps that ended since the last call, in the order they ended.
    func takeFinished() -> [Outcome] {
        lock.withLock {
            defer { finished = [] }
            return finished
        }
    }

    /// Whether a step is running or waits to, or an outcome waits for `takeFinished()`. A loop
    /// that stops once this is false has handled every step it handed over.
    var isBusy: Bool {
        lock.withLock { running > 0 || !finished.isEmpty }
    }
}
