import Dispatch
import Foundation

/// Splits 0..<count into one contiguous range per core (none shorter than `grain`, so small
/// inputs stay on one thread) and runs `body` on them in parallel.
func forEachRangeConcurrently(count: Int, grain: Int = 1 << 16, _ body: @Sendable (Range<Int>) -> Void) {
    let parts = max(1, min(ProcessInfo.processInfo.activeProcessorCount, count / max(grain, 1)))
    let length = (count + parts - 1) / parts
    DispatchQueue.concurrentPerform(iterations: parts) { part in
        let start = part * length
        body(start..<min(count, start + length))
    }
}
