import Foundation
import NeuralEngine
import Testing

@Suite struct LossTests {
    var generator = SplitMix64(seed: 2)

    @Test func crossEntropyValue() {
        // Softmax of [0, ln 3] is [1/4, 3/4]; with label 1 the loss is -ln(3/4).
        let logits = Tensor(shape: [1, 2], scalars: [0, logf(3)])
        let (loss, _) = CrossEntropyLoss.forward(logits: logits, labels: [1])
        #expect(abs(loss + logf(0.75)) < 1e-6)
    }

    @Test mutating func crossEntropyGradient() {
        let logits = Tensor.randomNormal(shape: [6, 3], using: &generator)
        let labels: [UInt8] = [0, 2, 1, 1, 0, 2]
        let (_, probabilities) = CrossEntropyLoss.forward(logits: logits, labels: labels)
        let analytic = CrossEntropyLoss.backward(probabilities: probabilities, labels: labels)
        let unitProbe = Tensor(shape: [1], scalars: [1])
        GradientCheck.expectMatches(analytic: analytic, input: logits, probe: unitProbe, step: 1e-3) {
            Tensor(shape: [1], scalars: [CrossEntropyLoss.forward(logits: $0, labels: labels).loss])
        }
    }

    @Test func diceValue() {
        // Each class has I = 0.8, Σp = 1 and Σg = 1, so its Dice is 1.6 / 2 = 0.8 and the loss 0.2.
        let probabilities = Tensor(shape: [2, 2], scalars: [0.8, 0.2, 0.2, 0.8])
        let loss = DiceLoss.forward(probabilities: probabilities, labels: [0, 1], smoothing: 0)
        #expect(abs(loss - 0.2) < 1e-6)
    }

    @Test mutating func diceGradient() {
        let probabilities = Softmax.forward(Tensor.randomNormal(shape: [8, 3], using: &generator))
        let labels: [UInt8] = [0, 2, 1, 1, 0, 2, 2, 0]
        let analytic = DiceLoss.backward(probabilities: probabilities, labels: labels)
        let unitProbe = Tensor(shape: [1], scalars: [1])
        GradientCheck.expectMatches(analytic: analytic, input: probabilities, probe: unitProbe, step: 1e-3) {
            Tensor(shape: [1], scalars: [DiceLoss.forward(probabilities: $0, labels: labels)])
        }
    }
}
