import Foundation
@testable import NeuralEngine
import Testing

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
