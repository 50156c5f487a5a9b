// The error type of the Reports module.

/// A report that cannot be made from its input, with what was wrong and where.
public struct ReportError: Error, CustomStringConvertible, Sendable {
    /// The failure, the value involved and the next step for the caller.
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
