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
