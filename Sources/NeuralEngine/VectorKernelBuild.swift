// The choice of the VectorKernels build the engine calls. The module's loops work on 16-lane
// vectors. An x86-64 binary may assume no more than SSE, so the baseline build runs each vector
// operation as four SSE instructions. The VectorKernelsAVX512 module is the same source compiled
// for AVX-512, with one instruction per vector operation. The engine takes that build when the CPU
// has AVX-512, as oneDNN picks its own kernels at run time, so one binary runs on any x86-64 CPU.
import CCPUID
import Foundation
import VectorKernels
#if canImport(VectorKernelsAVX512)
import VectorKernelsAVX512
#endif

/// The name of the VectorKernels build this process runs, "baseline" or "avx512", for logs.
public var vectorKernelBuildInUse: String { VectorKernelBuild.selected.name }

/// The value of `STDNET_VECTOR_KERNELS` when it is set to anything but "baseline" or empty. The
/// engine ignores such a value, so the worker, train and evaluate report it at start.
public var ignoredVectorKernelSetting: String? {
    let value = ProcessInfo.processInfo.environment["STDNET_VECTOR_KERNELS"] ?? ""
    return value.isEmpty || value == "baseline" ? nil : value
}

struct VectorKernelBuild: Sendable {
    typealias AttendBlock = @Sendable (
        _ projections: UnsafePointer<Float>, _ weights: UnsafeMutablePointer<Float>, _ context: UnsafeMutablePointer<Float>,
        _ heads: Int, _ channels: Int, _ phaseCount: Int, _ blockSize: Int
    ) -> Void
    typealias AttendBlockBackward = @Sendable (
        _ projections: UnsafePointer<Float>, _ weights: UnsafePointer<Float>, _ contextGradient: UnsafePointer<Float>,
        _ projectionsGradient: UnsafeMutablePointer<Float>, _ heads: Int, _ channels: Int, _ phaseCount: Int, _ blockSize: Int
    ) -> Void

    /// "baseline" or "avx512".
    let name: String
    let attendBlock: AttendBlock
    let attendBlockBackward: AttendBlockBackward
    /// Whether the build has the fused forward pass of the temporal module
    /// (`TemporalEncoder.fusedForward`).
    let hasFusedTemporalForward: Bool

    static let baseline = VectorKernelBuild(
        name: "baseline",
        attendBlock: VectorKernels.attendBlock(projections:weights:context:heads:channels:phaseCount:blockSize:),
        attendBlockBackward: VectorKernels.attendBlockBackward(projections:weights:contextGradient:projectionsGradient:heads:channels:phaseCount:blockSize:),
        hasFusedTemporalForward: false)

    #if canImport(VectorKernelsAVX512)
    static let avx512 = VectorKernelBuild(
        name: "avx512",
        attendBlock: VectorKernelsAVX512.attendBlock(projections:weights:context:heads:channels:phaseCount:blockSize:),
        attendBlockBackward: VectorKernelsAVX512.attendBlockBackward(projections:weights:contextGradient:projectionsGradient:heads:channels:phaseCount:blockSize:),
        hasFusedTemporalForward: true)
    #endif

    /// The builds this CPU can run, the baseline first.
    static var runnable: [VectorKernelBuild] {
        #if canImport(VectorKernelsAVX512)
        if cpuHasAVX512 { return [baseline, avx512] }
        #endif
        return [baseline]
    }

    /// The AVX-512 build where the CPU can run it, else the baseline. `STDNET_VECTOR_KERNELS=baseline`
    /// selects the baseline on any CPU, to compare the two; other values are ignored
    /// (``ignoredVectorKernelSetting``).
    static let selected: VectorKernelBuild = {
        if ProcessInfo.processInfo.environment["STDNET_VECTOR_KERNELS"] == "baseline" { return baseline }
        return runnable.last!
    }()

    /// Whether the CPU and the operating system support what `-target-cpu skylake-avx512`
    /// compiles for: the AVX-512 subsets F, CD, BW, DQ and VL, the register state the operating
    /// system saves, and the older extensions that target includes. Read with CPUID.
    static let cpuHasAVX512 = stdnet_cpu_runs_skylake_avx512()
}
