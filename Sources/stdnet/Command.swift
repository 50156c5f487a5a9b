// The subcommand interface of the `stdnet` executable and the small argument parser they share.
import Foundation
import STDNet

/// One `stdnet` subcommand. Each lives in its own file and parses only its own arguments.
protocol Command {
    /// The word after `stdnet` that selects this command.
    static var name: String { get }
    /// One line for `stdnet help`.
    static var summary: String { get }
    /// The full usage text, printed by `stdnet help NAME` and on argument errors.
    static var usage: String { get }
    /// Runs the command with the arguments that follow its name; returns the process exit status.
    static func run(_ arguments: inout Arguments) throws -> Int32
}

/// An error in the command line, printed with the command's usage.
struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Command-line arguments consumed option by option.
///
/// Options are `--name value` or `--name=value`; flags are `--name`. Every option may have an
/// environment variable that supplies its value when the option is absent.
struct Arguments {
    private var remaining: [String]

    init(_ arguments: [String]) { remaining = arguments }

    /// Removes `--name VALUE` (or `--name=VALUE`) and returns the value, falling back to the
    /// environment variable when the option is absent. Fails when the option is given twice.
    mutating func option(_ name: String, environment: String? = nil) throws -> String? {
        let flag = "--\(name)"
        let isThisOption = { (argument: String) in argument == flag || argument.hasPrefix(flag + "=") }
        if let index = remaining.firstIndex(where: isThisOption) {
            guard remaining.filter(isThisOption).count == 1 else {
                throw UsageError("option \(flag) was given twice, but it takes one value")
            }
            let argument = remaining.remove(at: index)
            if argument.count > flag.count { return String(argument.dropFirst(flag.count + 1)) }
            guard index < remaining.count, !remaining[index].hasPrefix("--") else {
                throw UsageError("option \(flag) needs a value")
            }
            return remaining.remove(at: index)
        }
        if let environment, let value = ProcessInfo.processInfo.environment[environment], !value.isEmpty {
            return value
        }
        return nil
    }

    /// Removes `--name VALUE` and converts it to an integer, or returns `defaultValue`.
    mutating func integer(_ name: String, environment: String? = nil, default defaultValue: Int) throws -> Int {
        guard let text = try option(name, environment: environment) else { return defaultValue }
        guard let value = Int(text) else { throw UsageError("option --\(name) expects an integer, got '\(text)'") }
        return value
    }

    /// Removes `--name VALUE` and converts it to an integer of 0 or more, or returns `defaultValue`.
    mutating func nonNegativeInteger(_ name: String, default defaultValue: UInt64) throws -> UInt64 {
        guard let text = try option(name) else { return defaultValue }
        guard let value = UInt64(text) else { throw UsageError("option --\(name) expects a non-negative integer, got '\(text)'") }
        return value
    }

    /// Removes `--name VALUE` given in seconds (fractions allowed) and returns it as a `Duration`.
    /// With `positive`, 0 is rejected too. Values run up to a million seconds (11.6 days), so
    /// that "inf" or 1e300 is an error rather than an overflow.
    mutating func seconds(_ name: String, environment: String? = nil, default defaultValue: Duration, positive: Bool = false) throws -> Duration {
        guard let text = try option(name, environment: environment) else { return defaultValue }
        guard let value = Double(text), value.isFinite, positive ? value > 0 : value >= 0, value <= 1_000_000 else {
            let range = positive ? "more than 0" : "0 or more"
            throw UsageError("option --\(name) expects a number of seconds, \(range) and at most 1000000, got '\(text)'")
        }
        return .milliseconds(Int64((value * 1000).rounded()))
    }

    /// Removes `--name VALUE`, a number within `range`, or returns `defaultValue`. `noun` names
    /// the value in the message, such as "a weight".
    mutating func number(_ name: String, in range: ClosedRange<Double>, noun: String, default defaultValue: Double) throws -> Double {
        guard let text = try option(name) else { return defaultValue }
        guard let value = Double(text), range.contains(value) else {
            let bounds = String(format: "from %g to %g", range.lowerBound, range.upperBound)
            throw UsageError("--\(name) expects \(noun) \(bounds), got '\(text)'")
        }
        return value
    }

    /// Removes `--name VALUE` given in MiB (fractions allowed) and returns it in bytes.
    mutating func mebibytes(_ name: String, environment: String? = nil, default defaultValue: Int) throws -> Int {
        guard let text = try option(name, environment: environment) else { return defaultValue }
        guard let value = Double(text), value * 1024 * 1024 >= 1, value < 1e12 else {
            throw UsageError("option --\(name) expects a positive number of MiB (at least one byte), got '\(text)'")
        }
        return Int(value * 1024 * 1024)
    }

    /// Removes the flag `--name` and returns whether it was present. Fails when it is given twice.
    mutating func flag(_ name: String) throws -> Bool {
        guard let index = remaining.firstIndex(of: "--\(name)") else { return false }
        remaining.remove(at: index)
        if remaining.contains("--\(name)") { throw UsageError("option --\(name) was given twice") }
        return true
    }

    /// Removes and returns the arguments that are not options, in order.
    mutating func positionals() throws -> [String] {
        if let unknown = remaining.first(where: { $0.hasPrefix("--") }) {
            throw UsageError("unknown option \(unknown)")
        }
        defer { remaining.removeAll() }
        return remaining
    }

    /// Fails when any argument was not consumed.
    func finish() throws {
        if let unknown = remaining.first { throw UsageError("unexpected argument '\(unknown)'") }
    }
}

/// Returns the system's text for a failed file operation ("Permission denied", "Not a
/// directory"), which Foundation wraps in an error whose own description is empty.
func systemReason(_ error: CocoaError) -> String {
    let system = (error.underlying as NSError?).flatMap { $0.domain == NSPOSIXErrorDomain ? Int32($0.code) : nil }
    return system.map { String(cString: strerror($0)) } ?? error.localizedDescription
}

/// Returns the `count` comma-separated values of `text`, or nil unless it has exactly `count`
/// pieces and each one parses ("32,,64" has three pieces, one of them empty).
func commaSeparatedValues<Value: LosslessStringConvertible>(_ text: String, count: Int) -> [Value]? {
    let values = text.split(separator: ",", omittingEmptySubsequences: false).map { Value(String($0)) }
    guard values.count == count, values.allSatisfy({ $0 != nil }) else { return nil }
    return values.compactMap { $0 }
}

/// Returns the sliding window (D, H, W) given as `text` to `--window`. Fails unless it is three
/// positive multiples of 8, the grid multiple of the network's three downsamplings, with no more
/// voxels than a model's config.json may store.
func slidingWindow(_ text: String) throws -> [Int] {
    guard let window: [Int] = commaSeparatedValues(text, count: 3), window.allSatisfy({ $0 > 0 && $0 % 8 == 0 }) else {
        throw UsageError("--window expects three multiples of 8, got '\(text)'")
    }
    guard ModelConfiguration.isWithinVoxelLimit(window) else {
        throw UsageError("--window \(text) has more than \(ModelConfiguration.largestWindowVoxels) voxels; give a smaller window")
    }
    return window
}

/// Returns the value of an option the command cannot run without, or fails naming it as
/// `option`, e.g. "--out DIR". Check after `Arguments.finish()`, so that a misspelt option is
/// reported as unexpected rather than as the required one missing.
func required<Value>(_ value: Value?, _ option: String) throws -> Value {
    guard let value else { throw UsageError("\(option) is required") }
    return value
}

/// Fails unless the folder of the file that `option` names exists. Call it before the command
/// sends a request or computes anything, so that a mistyped folder does not cost the work, or
/// leave an audited request without its output.
func requireFolder(ofFile path: String, option: String) throws {
    let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
        throw UsageError("the folder of \(option), \(folder), does not exist; create it first")
    }
}
