@testable import NeuralEngine
import Testing

/// The AVX-512 build of VectorKernels against the baseline build. The fused kernel's other tests
/// compare it with the reference ops and with PyTorch, but they run only the build the CPU
/// selects. These tests check that the other build computes the same values.
@Suite(.enabled(if: VectorKernelBuild.runnable.count > 1, "needs a CPU with AVX-512"))
struct VectorKernelBuildTests {
    /// Runs `body` with the baseline build and with the AVX-512 build.
    static func bothBuilds(_ body: (VectorKernelBuild) -> [Float]) -> (baseline: [Float], wide: [Float]) {
        let builds = VectorKernelBuild.runnable
        return (body(builds[0]), body(builds[1]))
    }

    @Test(arguments: [4, 3, 1])
    func attentionAgrees(phaseCount: Int) {
        // Two blocks' worth of columns would add nothing: every 16-location group is independent.
        let (heads, channels, blockSize) = (4, 16, 32)
        let rows = phaseCount * blockSize
        var generator = SplitMix64(seed: 41)
        let projections = Tensor.randomNormal(shape: [3 * channels * rows], using: &generator).scalars
        let contextGradient = Tensor.randomNormal(shape: [channels * rows], using: &generator).scalars
        let weightCount = heads * phaseCount * phaseCount * blockSize

        let forward = Self.bothBuilds { build in
            var weights = [Float](repeating: 0, count: weightCount)
            var context = [Float](repeating: 0, count: channels * rows)
            build.attendBlock(projections, &weights, &context, heads, channels, phaseCount, blockSize)
            return weights + context
        }
        #expect(forward.baseline == forward.wide)
        #expect(forward.baseline.contains { $0 != 0 })

        let backward = Self.bothBuilds { build in
            var weights = [Float](repeating: 0, count: weightCount)
            var context = [Float](repeating: 0, count: channels * rows)
            build.attendBlock(projections, &weights, &context, heads, channels, phaseCount, blockSize)
            var projectionsGradient = [Float](repeating: .nan, count: 3 * channels * rows)
            build.attendBlockBackward(projections, weights, contextGradient, &projectionsGradient, heads, channels, phaseCount, blockSize)
            return projectionsGradient
        }
        #expect(backward.baseline == backward.wide)
        #expect(backward.baseline.allSatisfy { $0.isFinite })
    }
}

/// The build chosen for each value of `STDNET_VECTOR_KERNELS`.
@Suite struct VectorKernelSelectionTests {
    @Test func unsetTakesWidestBuild() {
        for setting in [nil, ""] {
            let selection = VectorKernelBuild.select(setting: setting, runnable: VectorKernelBuild.runnable)
            #expect(selection.build.name == VectorKernelBuild.runnable.last!.name)
            #expect(selection.ignoredReason == nil)
        }
    }

    @Test func namedBuildsAreSelected() {
        let baseline = VectorKernelBuild.select(setting: "baseline", runnable: VectorKernelBuild.runnable)
        #expect(baseline.build.name == "baseline")
        #expect(baseline.ignoredReason == nil)
        if VectorKernelBuild.runnable.count > 1 {
            let wide = VectorKernelBuild.select(setting: "avx512", runnable: VectorKernelBuild.runnable)
            #expect(wide.build.name == "avx512")
            #expect(wide.ignoredReason == nil)
        }
    }

    @Test func avx512WithoutCPUSupportFallsBack() {
        let selection = VectorKernelBuild.select(setting: "avx512", runnable: [.baseline])
        #expect(selection.build.name == "baseline")
        #expect(selection.ignoredReason?.contains("cannot run the AVX-512 kernels") == true)
    }

    @Test func unknownNameIsIgnored() {
        let selection = VectorKernelBuild.select(setting: "AVX-512", runnable: [.baseline])
        #expect(selection.build.name == "baseline")
        #expect(selection.ignoredReason == "it is not baseline or avx512, so the baseline build runs; set one of them or leave it unset")
    }
}
