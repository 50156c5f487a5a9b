import Foundation
import NeuralEngine
import Testing

@Suite struct AdamWTests {
    @Test func firstTwoSteps() {
        var optimizer = AdamW(learningRate: 0.1, weightDecay: 0.5)
        var parameters = [Tensor(shape: [2], scalars: [1, -2])]

        // Step 1: m̂ = g and v̂ = g², so the step is lr · g / (|g| + ε) after the decay
        // θ · (1 - lr · λ) = θ · 0.95.
        optimizer.update(&parameters, gradients: [Tensor(shape: [2], scalars: [0.5, -4])])
        let firstStep = [1 * 0.95 - 0.1 * 0.5 / (0.5 + 1e-8), -2 * 0.95 + 0.1 * 4 / (4 + 1e-8)]
        #expect(abs(Double(parameters[0].scalars[0]) - firstStep[0]) < 1e-6)
        #expect(abs(Double(parameters[0].scalars[1]) - firstStep[1]) < 1e-6)

        // Step 2, first element, with g = 1: the moments and bias corrections in Double.
        optimizer.update(&parameters, gradients: [Tensor(shape: [2], scalars: [1, 0])])
        let m = 0.9 * (0.1 * 0.5) + 0.1 * 1
        let v = 0.999 * (0.001 * 0.25) + 0.001 * 1
        let mHat = m / (1 - 0.81)
        let vHat = v / (1 - 0.999 * 0.999)
        let secondStep = firstStep[0] * 0.95 - 0.1 * mHat / (vHat.squareRoot() + 1e-8)
        #expect(abs(Double(parameters[0].scalars[0]) - secondStep) < 1e-5)
        #expect(optimizer.step == 2)
    }

    @Test func minimizesQuadratic() {
        // L = (θ - 3)², gradient 2 (θ - 3); without weight decay AdamW settles at θ = 3.
        var optimizer = AdamW(learningRate: 0.05, weightDecay: 0)
        var parameters = [Tensor(shape: [1], scalars: [0])]
        for _ in 0..<2000 {
            let gradient = Tensor(shape: [1], scalars: [2 * (parameters[0].scalars[0] - 3)])
            optimizer.update(&parameters, gradients: [gradient])
        }
        #expect(abs(parameters[0].scalars[0] - 3) < 1e-2)
    }
}
