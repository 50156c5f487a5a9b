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

    @Test func weightedCrossEntropyValue() {
        // Softmax of [0, ln 3] is [1/4, 3/4]. Row 0 has label 1 (p = 3/4, weight 3) and row 1
        // label 0 (p = 1/4, weight 1), so the loss is (3 (-ln 3/4) + 1 (-ln 1/4)) / 4.
        let logits = Tensor(shape: [2, 2], scalars: [0, logf(3), 0, logf(3)])
        let (loss, _) = CrossEntropyLoss.forward(logits: logits, labels: [1, 0], classWeights: [1, 3])
        let expected = (3 * -log(0.75) + 1 * -log(0.25)) / 4
        #expect(abs(Double(loss) - expected) < 1e-6)
    }

    @Test mutating func weightedCrossEntropyGradient() {
        let logits = Tensor.randomNormal(shape: [6, 3], using: &generator)
        let labels: [UInt8] = [0, 2, 1, 1, 0, 2]
        let weights: [Float] = [1, 0.5, 4]
        let (_, probabilities) = CrossEntropyLoss.forward(logits: logits, labels: labels, classWeights: weights)
        let analytic = CrossEntropyLoss.backward(probabilities: probabilities, labels: labels, classWeights: weights)
        let unitProbe = Tensor(shape: [1], scalars: [1])
        GradientCheck.expectMatches(analytic: analytic, input: logits, probe: unitProbe, step: 1e-3) {
            Tensor(shape: [1], scalars: [CrossEntropyLoss.forward(logits: $0, labels: labels, classWeights: weights).loss])
        }
    }

    @Test func diceValue() {
        // Each class has I = 0.8, Σp = 1 and Σg = 1, so its Dice is 1.6 / 2 = 0.8 and the loss 0.2.
        let probabilities = Tensor(shape: [2, 2], scalars: [0.8, 0.2, 0.2, 0.8])
        let loss = DiceLoss.forward(probabilities: probabilities, labels: [0, 1], smoothing: 0)
        #expect(abs(loss - 0.2) < 1e-6)
    }

    @Test func instanceDiceValue() {
        // Target class 1, with its probability p1 per row. Rows 0-1 are instance A and row 3 is
        // instance B. Row 4 has the target class but lies in no instance. Rows 2 and 5 are background.
        // B = 0.2 + 0.1 = 0.3 from the background rows.
        // A: I = 0.9 + 0.7 = 1.6, Dice = 3.2 / (0.3 + 1.6 + 2) = 3.2 / 3.9.
        // B: I = 0.4, Dice = 0.8 / (0.3 + 0.4 + 1) = 0.8 / 1.7.
        // A large instance with a small false-positive mass scores high and the small one low,
        // and both count equally: loss = 1 - (3.2 / 3.9 + 0.8 / 1.7) / 2.
        let targetProbabilities: [Float] = [0.9, 0.7, 0.2, 0.4, 0.5, 0.1]
        let probabilities = Tensor(shape: [6, 2], scalars: targetProbabilities.flatMap { [1 - $0, $0] })
        let labels: [UInt8] = [1, 1, 0, 1, 1, 0]
        let loss = InstanceDiceLoss.forward(probabilities: probabilities, labels: labels, target: 1, instances: [[0, 1], [3]], smoothing: 0)
        let expected = 1 - (3.2 / 3.9 + 0.8 / 1.7) / 2
        #expect(abs(Double(loss) - expected) < 1e-6)
    }

    @Test func instanceDiceWithoutInstances() {
        let probabilities = Tensor(shape: [2, 2], scalars: [0.5, 0.5, 0.3, 0.7])
        #expect(InstanceDiceLoss.forward(probabilities: probabilities, labels: [0, 1], target: 1, instances: []) == 0)
        #expect(InstanceDiceLoss.backward(probabilities: probabilities, labels: [0, 1], target: 1, instances: []).scalars == [0, 0, 0, 0])
    }

    @Test mutating func instanceDiceGradient() {
        let probabilities = Softmax.forward(Tensor.randomNormal(shape: [9, 3], using: &generator))
        let labels: [UInt8] = [2, 2, 0, 1, 2, 0, 2, 2, 1]
        let instances = [[0, 1], [4], [6, 7]]
        let analytic = InstanceDiceLoss.backward(probabilities: probabilities, labels: labels, target: 2, instances: instances)
        let unitProbe = Tensor(shape: [1], scalars: [1])
        GradientCheck.expectMatches(analytic: analytic, input: probabilities, probe: unitProbe, step: 1e-3) {
            Tensor(shape: [1], scalars: [InstanceDiceLoss.forward(probabilities: $0, labels: labels, target: 2, instances: instances)])
        }
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
