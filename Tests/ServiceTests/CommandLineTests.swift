import Foundation
import Testing
import TestSupport

/// Command lines that `stdnet` must reject before it does anything.
@Suite struct CommandLineTests {
    static let cases: [(arguments: [String], message: String)] = [
        ([], "usage: stdnet COMMAND"),
        (["status", "--timeout", "inf"], "option --timeout expects a number of seconds, more than 0 and at most 1000000, got 'inf'"),
        (["status", "--timeout", "1e300"], "got '1e300'"),
        (["status", "--timeout", "0"], "more than 0"),
        (["coordinator", "--heartbeat", "0"], "option --heartbeat expects a number of seconds, more than 0"),
        (["worker", "--no-model", "--shutdown-timeout", "inf"], "option --shutdown-timeout expects a number of seconds, 0 or more"),
        (["submit", "--noop", "1", "--sleep-ms", "-5"], "--sleep-ms expects milliseconds, 0 or more, got -5"),
        (["train", "--out", "/tmp/stdnet-unused", "--steps", "1", "--checkpoint-every", "0"], "--checkpoint-every expects a positive number of steps, got 0"),
        (["train", "--out", "/tmp/stdnet-unused", "--steps", "1", "--warmup", "-5"], "--warmup expects a number of steps, 0 or more, got -5"),
        (["train", "--out", "/tmp/stdnet-unused", "--steps", "1", "--batch", "0"], "--batch expects a positive number of windows, got 0"),
        (["evaluate", "--model", ServiceProcess.packageRoot.appendingPathComponent("Models/std-net").path, "--lesion-grow-threshold", "0.99"],
         "--lesion-grow-threshold 0.99 must be at most the lesion threshold 0.95: give a lower --lesion-grow-threshold or a higher --lesion-threshold"),
    ]

    @Test(arguments: 0..<cases.count)
    func invalidCommandLineRejected(_ index: Int) throws {
        let (arguments, message) = Self.cases[index]
        let process = try ServiceProcess(arguments, label: "command-line")
        #expect(process.wait(timeout: .seconds(30)) == 2, "stdnet \(arguments.joined(separator: " ")): \(process.output)")
        #expect(process.output.contains(message), "stdnet \(arguments.joined(separator: " ")): \(process.output)")
    }
}
