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

/// The value of `STDNET_VECTOR_KERNELS` and the reason when the engine ignores it, so that the
/// worker, train and evaluate can report it at start.
public var ignoredVectorKernelSetting: (value: String, reason: String)? {
    VectorKernelBuild.selection.ignoredReason.map { (VectorKernelBuild.setting ?? "", $0) }
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

    /// The build this process runs.
    static let selected = selection.build

    static let setting = ProcessInfo.processInfo.environment["STDNET_VECTOR_KERNELS"]

    static let selection = select(setting: setting, runnable: runnable)

    /// Chooses the build for a value of `STDNET_VECTOR_KERNELS`: by default the last of `runnable`
    /// (the AVX-512 build where the CPU can run it), or the build the value names. The reason is
    /// set when the value is ignored: a name that is no build, or a build the CPU cannot run.
    static func select(setting: String?, runnable: [VectorKernelBuild]) -> (build: VectorKernelBuild, ignoredReason: String?) {
        guard let setting, !setting.isEmpty else { return (runnable.last!, nil) }
        if let named = runnable.first(where: { $0.name == setting }) { return (named, nil) }
        if setting == "avx512" {
            return (runnable.last!, "this CPU or build cannot run the AVX-512 kernels, so the \(runnable.last!.name) build runs")
        }
        return (runnable.last!, "it is not baseline or avx512, so the \(runnable.last!.name) build runs; set one of them or leave it unset")
    }

    /// Whether the CPU and the operating system support what `-target-cpu skylake-avx512`
    /// compiles for: the AVX-512 subsets F, CD, BW, DQ and VL, the register state the operating
    /// system saves, and the older extensions that target includes. Read with CPUID.
    static let cpuHasAVX512 = stdnet_cpu_runs_skylake_avx512()
}
