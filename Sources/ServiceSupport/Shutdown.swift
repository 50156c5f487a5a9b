// Graceful shutdown on SIGTERM and SIGINT for the long-running services.
import Foundation

/// A flag that a signal or another thread sets to ask a service loop to stop.
public final class ShutdownRequest: @unchecked Sendable {
    private let lock = NSLock()
    private var requested = false
    private var signalSources: [DispatchSourceSignal] = []

    public init() {}

    public var isRequested: Bool { lock.withLock { requested } }

    public func request() { lock.withLock { requested = true } }

    /// Sets the flag on SIGTERM or SIGINT instead of letting them end the process.
    public func installSignalHandlers() {
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [weak self] in self?.request() }
            source.resume()
            signalSources.append(source)
        }
    }
}
