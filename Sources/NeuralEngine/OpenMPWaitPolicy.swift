// The wait policy of oneDNN's OpenMP threads between parallel regions.
import Foundation

/// Starts the process again with `OMP_WAIT_POLICY=passive` unless that variable is set already.
///
/// oneDNN runs its convolutions on libgomp's threads, which by default spin for a while after
/// each parallel region before they sleep. The engine's own loops (the temporal kernel, norms,
/// upsampling) run on Dispatch threads between those regions, and where there are as many
/// threads as cores the spinning threads take cores from them. libgomp reads the policy only
/// when it is loaded, before `main`, so setting the variable later has no effect and the process
/// has to be executed again. Call it first thing in a command that runs the model, before any
/// thread or file is opened. A user's own `OMP_WAIT_POLICY` is kept. If the exec fails, the
/// process goes on with libgomp's default.
public func restartWithPassiveOpenMPWaitUnlessSet() {
    #if os(Linux)
    guard ProcessInfo.processInfo.environment["OMP_WAIT_POLICY"] == nil else { return }
    setenv("OMP_WAIT_POLICY", "passive", 1)
    execv("/proc/self/exe", CommandLine.unsafeArgv)
    unsetenv("OMP_WAIT_POLICY")
    #endif
}
