// Runs Python reference tools (nibabel, pydicom, SimpleITK) for interoperability checks.
// Tests that use them return early, checking nothing, when the module is not installed.
import Foundation

public struct ProcessFailure: Error, CustomStringConvertible {
    public var description: String

    public init(description: String) { self.description = description }
}

/// Returns whether `python3` on the PATH can import `module`.
public func pythonHasModule(_ module: String) -> Bool {
    (try? runPython("import \(module)", [])) != nil
}

/// Runs a Python script with `python3` from the PATH and returns its standard output.
///
/// - throws: `ProcessFailure` with the standard error when the script exits with an error.
@discardableResult
public func runPython(_ script: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script] + arguments
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    let errorData = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw ProcessFailure(description: "python3 exited with status \(process.terminationStatus): " + String(decoding: errorData, as: UTF8.self))
    }
    return String(decoding: data, as: UTF8.self)
}
