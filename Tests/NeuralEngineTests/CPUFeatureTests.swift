import Foundation
@testable import NeuralEngine
import Testing

/// The CPUID check that selects the AVX-512 build against the flags Linux lists in /proc/cpuinfo,
/// which the kernel reads from CPUID too but shows only for extensions whose register state it
/// saves. Outside an emulator the two agree.
@Suite struct CPUFeatureTests {
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/cpuinfo"), "needs Linux"))
    func cpuidAgreesWithProcCPUInfo() throws {
        let cpuInfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flagsLine = try #require(cpuInfo.split(separator: "\n").first { $0.hasPrefix("flags") })
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        let required = [
            "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl",
            "avx", "avx2", "fma", "f16c", "bmi1", "bmi2", "movbe", "popcnt", "abm", "sse4_2",
        ]
        #if arch(x86_64)
        #expect(VectorKernelBuild.cpuHasAVX512 == required.allSatisfy(flags.contains), "flags: \(required.filter { !flags.contains($0) }) missing")
        #else
        #expect(!VectorKernelBuild.cpuHasAVX512)
        #endif
    }
}
