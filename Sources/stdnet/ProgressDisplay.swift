// Progress on standard error: a bar redrawn in place on a terminal, one closing line otherwise
// (so logs of scripted runs stay short).
import Foundation

/// A bar of `total` steps, or of `total` bytes with the percentage, megabytes and rate.
struct ProgressBar {
    enum Unit {
        /// Shows `done/total`.
        case steps
        /// Shows the percentage, megabytes done of the total and the rate since the bar was made.
        case bytes
    }

    private let label: String
    private let total: Int
    private let unit: Unit
    private let start = ContinuousClock.now
    private let isTerminal = isatty(STDERR_FILENO) == 1

    init(label: String, total: Int, unit: Unit = .steps) {
        self.label = label
        self.total = max(1, total)
        self.unit = unit
    }

    /// Redraws the bar with `done` steps complete; the last step ends the line.
    func show(_ done: Int, detail: String = "") {
        let line = render(done, detail: detail)
        if isTerminal {
            writeError("\r\u{1B}[K" + line + (done >= total ? "\n" : ""))
        } else if done >= total {
            writeError(line + "\n")
        }
    }

    /// Ends the line of a bar that stops before its last step and shows how far it came. Off a
    /// terminal, this is the bar's only line.
    func stop(at done: Int, detail: String = "stopped") {
        let line = render(done, detail: detail)
        writeError((isTerminal ? "\r\u{1B}[K" : "") + line + "\n")
    }

    private func render(_ done: Int, detail: String) -> String {
        let width = 30
        let filled = min(width, width * done / total)
        let bar = "[\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))]"
        switch unit {
        case .steps:
            return "  \(label) \(bar) \(done)/\(total) \(detail)"
        case .bytes:
            let seconds = (ContinuousClock.now - start) / .seconds(1)
            let rate = seconds > 0 ? Double(done) / 1e6 / seconds : 0
            let counts = String(format: "%3d%% %.1f/%.1f MB, %.1f MB/s, %.1f s", 100 * done / total, Double(done) / 1e6, Double(total) / 1e6, rate, seconds)
            return "  \(label) \(bar) \(counts)" + (detail.isEmpty ? "" : " \(detail)")
        }
    }
}

/// A line that counts the seconds while a request without intermediate replies is waited for.
struct ProgressLine {
    let label: String

    /// Runs `body` and shows the elapsed time beside the label until it returns.
    func whileWaiting<Result>(_ body: () throws -> Result) rethrows -> Result {
        let start = ContinuousClock.now
        let finished = ManagedFlag()
        if isatty(STDERR_FILENO) == 1 {
            let label = self.label
            Thread.detachNewThread {
                while finished.unlessSet({
                    writeError("\r\u{1B}[K  \(label) ... \(String(format: "%.1f", (ContinuousClock.now - start) / .seconds(1))) s")
                }) {
                    Thread.sleep(forTimeInterval: 0.2)
                }
            }
        }
        defer { finished.set() }
        let result = try body()
        finished.set()
        let prefix = isatty(STDERR_FILENO) == 1 ? "\r\u{1B}[K" : ""
        writeError("\(prefix)  \(label): done in \(String(format: "%.1f", (ContinuousClock.now - start) / .seconds(1))) s\n")
        return result
    }
}

/// A flag one thread sets and another polls.
final class ManagedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    func set() { lock.withLock { value = true } }

    /// Runs `body` unless the flag is set, holding the lock so that `set` waits for it;
    /// returns whether it ran.
    func unlessSet(_ body: () -> Void) -> Bool {
        lock.withLock {
            if !value { body() }
            return !value
        }
    }
}

/// Writes `text` to standard error, unbuffered. What was printed to standard output goes out
/// first: redirected to a file, standard output is block-buffered, and its lines would otherwise
/// land after standard-error lines written later.
func writeError(_ text: String) {
    fflush(nil)
    FileHandle.standardError.write(Data(text.utf8))
}
