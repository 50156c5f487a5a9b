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
    ]

    @Test(arguments: 0..<cases.count)
    func invalidCommandLineRejected(_ index: Int) throws {
        let (arguments, message) = Self.cases[index]
        let process = try ServiceProcess(arguments, label: "command-line")
        #expect(process.wait(timeout: .seconds(30)) == 2, "stdnet \(arguments.joined(separator: " ")): \(process.output)")
        #expect(process.output.contains(message), "stdnet \(arguments.joined(separator: " ")): \(process.output)")
    }
}
