// Real `stdnet` processes for the service tests: started with posix_spawn, killed with real
// signals, their output kept in a log file for failure messages.
import Foundation

/// A running `stdnet` process.
public final class ServiceProcess: @unchecked Sendable {
    public let arguments: [String]
    public let logFile: URL
    public private(set) var processID: pid_t = 0
    private var exitStatus: Int32?

    /// The `stdnet` executable built beside the test bundle.
    public static let executable: String = {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var folder = testBinary.deletingLastPathComponent()
        while folder.path != "/" {
            let candidate = folder.appendingPathComponent("stdnet")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate.path }
            folder = folder.deletingLastPathComponent()
        }
        fatalError("stdnet executable not found near \(testBinary.path); run 'swift build' first")
    }()

    /// The release build of `stdnet`, for tests that run the shipped model: numeric code in a
    /// debug build is too slow for a whole study. `scripts/test` builds it.
    public static let releaseExecutable: String = {
        var folder = URL(fileURLWithPath: executable).deletingLastPathComponent()
        while folder.path != "/" && folder.lastPathComponent != ".build" { folder = folder.deletingLastPathComponent() }
        let candidate = folder.appendingPathComponent("release/stdnet")
        guard FileManager.default.isExecutableFile(atPath: candidate.path) else {
            fatalError("release stdnet not found at \(candidate.path); run scripts/test, or 'swift build -c release --product stdnet'")
        }
        return candidate.path
    }()

    /// The repository's root folder, which contains Models/ and Migrations/.
    public static let packageRoot: URL = {
        var folder = URL(fileURLWithPath: executable).deletingLastPathComponent()
        while folder.path != "/" && folder.lastPathComponent != ".build" { folder = folder.deletingLastPathComponent() }
        return folder.deletingLastPathComponent()
    }()

    /// Starts `stdnet ARGUMENTS` with `environment` added to this process's environment.
    public convenience init(_ arguments: [String], environment: [String: String] = [:], label: String) throws {
        try self.init(command: [Self.executable] + arguments, environment: environment, label: label)
    }

    /// Starts any program; `command[0]` is its absolute path.
    public init(command: [String], environment: [String: String] = [:], label: String) throws {
        arguments = command
        logFile = FileManager.default.temporaryDirectory.appendingPathComponent("stdnet-\(label)-\(UUID().uuidString).log")
        try start(environment: environment)
    }

    /// Runs a program to its end and throws with its output when it fails.
    public static func runToCompletion(_ command: [String], timeout: Duration = .seconds(30)) throws {
        let process = try ServiceProcess(command: command, label: "tool")
        defer { try? FileManager.default.removeItem(at: process.logFile) }
        guard let status = process.wait(timeout: timeout) else {
            process.stop()
            throw TestFailure("\(command.joined(separator: " ")) did not finish within \(timeout)")
        }
        guard status == 0 else {
            throw TestFailure("\(command.joined(separator: " ")) failed with status \(status): \(process.output)")
        }
    }

    private func start(environment: [String: String]) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logFile.path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        let command = arguments
        let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let envp: [UnsafeMutablePointer<CChar>?] = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }
        let result = posix_spawn(&processID, command[0], &actions, nil, argv, envp)
        guard result == 0 else {
            throw TestFailure("cannot start stdnet \(arguments.joined(separator: " ")): \(String(cString: strerror(result)))")
        }
    }

    /// Sends a signal: SIGKILL for a crash, SIGTERM for a graceful stop.
    public func signal(_ signalNumber: Int32) {
        guard exitStatus == nil else { return }
        kill(processID, signalNumber)
    }

    /// Waits up to `timeout` for the process to exit and returns its status, or nil if it still runs.
    @discardableResult
    public func wait(timeout: Duration) -> Int32? {
        if let exitStatus { return exitStatus }
        let deadline = ContinuousClock.now + timeout
        repeat {
            var status: Int32 = 0
            if waitpid(processID, &status, WNOHANG) == processID {
                let signalNumber = status & 0x7f
                exitStatus = signalNumber == 0 ? (status >> 8) & 0xff : 128 + signalNumber
                return exitStatus
            }
            Thread.sleep(forTimeInterval: 0.02)
        } while ContinuousClock.now < deadline
        return nil
    }

    /// Whether the process is still running.
    public var isRunning: Bool { wait(timeout: .zero) == nil }

    /// Kills the process if it still runs; for cleanup.
    public func stop() {
        signal(SIGKILL)
        wait(timeout: .seconds(5))
    }

    /// The process's output so far.
    public var output: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }
}

/// A failed precondition of a test, with a message.
public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Polls `condition` every 50 ms until it holds, or throws after `timeout` with `message`.
public func waitUntil(_ message: @autoclosure () -> String, timeout: Duration = .seconds(60), _ condition: () throws -> Bool) throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try condition() { return }
        Thread.sleep(forTimeInterval: 0.05)
    }
    throw TestFailure("timed out after \(timeout): \(message())")
}
