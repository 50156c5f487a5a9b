import Foundation
@testable import NeuralEngine
import Testing
import VectorKernels

/// The polynomial approximations that replace libm calls in vectorised loops.
@Suite struct ApproximationTests {
    @Test func fastExpMatchesExpf() {
        // Relative error against the C library's expf over the whole clamped range.
        for step in 0...17_500 {
            let x = Float(step) / 100 - 87
            let approximation = fastExp(SIMD4(repeating: x))[0]
            let exact = expf(x)
            #expect(abs(approximation - exact) <= 1e-6 * exact, "fastExp(\(x)) = \(approximation), expf \(exact)")
        }
    }

    @Test func sixteenLanesMatchFourLanes() {
        // Each lane of the 16-lane forms against the 4-lane forms, which the tests above and
        // the GELU comparison with PyTorch check against the C library.
        for start in stride(from: -100, to: 100, by: 16) {
            let x = SIMD16<Float>((0..<16).map { Float(start + $0) * 0.5 + 0.25 })
            let exponentials = fastExp(x)
            let errorFunctions = fastErf(x)
            for lane in 0..<16 {
                #expect(exponentials[lane] == fastExp(SIMD4(repeating: x[lane]))[0], "fastExp(\(x[lane]))")
                #expect(errorFunctions[lane] == fastErf(SIMD4(repeating: x[lane]))[0], "fastErf(\(x[lane]))")
            }
        }
    }

    @Test func geluDerivativeMatchesExactForm() {
        // Φ(x) + x φ(x) with the C library's erff and expf, over [-6, 6].
        let inputs = (0...1200).map { Float($0) / 100 - 6 }
        let gradient = GELU.backward(
            outputGradient: Tensor(shape: [inputs.count], repeating: 1), input: Tensor(shape: [inputs.count], scalars: inputs))
        for (x, derivative) in zip(inputs, gradient.scalars) {
            let exact = 0.5 * (1 + erff(x / Float(2).squareRoot())) + x * expf(-0.5 * x * x) / (2 * Float.pi).squareRoot()
            #expect(abs(derivative - exact) <= 2e-6, "GELU'(\(x)) = \(derivative), exact \(exact)")
        }
    }
}
