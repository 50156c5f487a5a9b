import Foundation
import NeuralEngine
import STDNet
import Testing

@Suite struct TrainingTests {
    static let tiny = ModelConfiguration(channels: [4, 8, 8, 8], heads: 2, characterisationHidden: 8)

    /// Four phases of a 16³ window and labels that follow the arterial phase: a bright blob is
    /// class 2, its surroundings class 1, the rest background.
    static func problem() -> (phases: [Tensor?], labels: [UInt8]) {
        var generator = SplitMix64(seed: 5)
        var labels = [UInt8](repeating: 0, count: 4096)
        var phases = (0..<4).map { _ in Tensor.randomNormal(shape: [1, 16, 16, 16, 1], standardDeviation: 0.1, using: &generator) }
        for z in 0..<16 {
            for y in 0..<16 {
                for x in 0..<16 {
                    let index = (z * 16 + y) * 16 + x
                    let distance = (Double((x - 8) * (x - 8) + (y - 7) * (y - 7) + (z - 9) * (z - 9))).squareRoot()
                    if distance < 3 {
                        labels[index] = 2
                        phases[1].scalars[index] += 1.5
                    } else if distance < 6 {
                        labels[index] = 1
                        for phase in phases.indices { phases[phase].scalars[index] += 0.5 }
                    }
                }
            }
        }
        return (phases.map { Optional($0) }, labels)
    }

    /// Each architecture with the default loss, and STD-Net with the per-lesion Dice and a
    /// weighted lesion cross-entropy.
    @Test(arguments: [(Architecture.stdNet, SegmentationLossSettings()), (.earlyFusion, SegmentationLossSettings()),
                      (.stdNet, SegmentationLossSettings(perLesionDiceWeight: 1.5, lesionCrossEntropyWeight: 3))])
    func gradientsMatchFiniteDifferences(_ architecture: Architecture, settings: SegmentationLossSettings) throws {
        var configuration = Self.tiny
        configuration.architecture = architecture
        let model = STDNetModel.random(configuration, seed: 11)
        let (phases, labels) = Self.problem()
        let lesion = LesionTarget(voxels: labels.indices.filter { labels[$0] == 2 }, classIndex: 0)
        let analytic = model.segmentationGradients(phases, labels: labels, lesions: [lesion], settings: settings)
        #expect(analytic.lesionClassLoss > 0)
        #expect((analytic.perLesionDice > 0) == (settings.perLesionDiceWeight > 0))
        let expectedLoss = analytic.crossEntropy + analytic.dice + settings.perLesionDiceWeight * analytic.perLesionDice + analytic.lesionClassLoss
        #expect(abs(analytic.loss - expectedLoss) < 1e-5)

        var names = ["head.weight", "decoder.0.conv2.weight", "encoder.0.conv1.weight", "encoder.3.norm2.scale", "decoder.2.conv1.bias",
                     "characterisation.fc1.weight", "characterisation.fc2.bias", "decoder.1.conv2.weight"]
        if architecture == .stdNet { names += ["temporal.0.mlp.fc1.weight", "temporal.2.attention.in_proj.weight", "temporal.1.phase_embedding"] }
        for name in names {
            let gradient = try #require(analytic.gradients[name], "no gradient for \(name)")
            // The element with the largest gradient, where Float32 differences are most reliable.
            let index = gradient.scalars.indices.max { abs(gradient.scalars[$0]) < abs(gradient.scalars[$1]) }!
            let step: Float = 2e-3
            func loss(shiftedBy delta: Float) throws -> Float {
                var tensors = model.weights.tensors
                tensors[name]!.scalars[index] += delta
                return try STDNetModel(configuration: configuration, weights: ModelWeights(tensors: tensors))
                    .segmentationGradients(phases, labels: labels, lesions: [lesion], settings: settings).loss
            }
            let numeric = (try loss(shiftedBy: step) - loss(shiftedBy: -step)) / (2 * step)
            // A bias before an instance norm has no gradient, and central differences of a Float32
            // loss of a few units at this step carry noise near 1e-4, so the floor is 3e-3.
            let error = abs(numeric - gradient.scalars[index]) / max(abs(numeric), abs(gradient.scalars[index]), 3e-3)
            #expect(error < 0.05, "\(architecture.rawValue), \(settings), \(name)[\(index)]: analytic \(gradient.scalars[index]), numeric \(numeric)")
        }
    }

    /// A step on a batch of two windows follows the mean of their gradients: here the arterial
    /// blob's window and the same window with the phases negated, whose gradients differ.
    @Test func batchStepUsesTheMeanGradient() throws {
        let (phases, labels) = Self.problem()
        let negated = TrainingWindow(phases: phases.map { $0.map { Tensor(shape: $0.shape, scalars: $0.scalars.map { -$0 }) } }, labels: labels)
        let windows = [TrainingWindow(phases: phases, labels: labels), negated]
        let model = STDNetModel.random(Self.tiny, seed: 13)
        var batched = SegmentationTrainer(model: model, optimiser: AdamW(learningRate: 1e-3))
        let batchLoss = try batched.step(windows)

        // The same AdamW step by hand on the averaged gradients.
        let results = windows.map { model.segmentationGradients($0.phases, labels: $0.labels) }
        #expect(abs(batchLoss - (results[0].loss + results[1].loss) / 2) < 1e-5)
        let names = batched.parameterNames
        var parameters = names.map { model.weights[$0] }
        var optimiser = AdamW(learningRate: 1e-3)
        // The characterisation head gets no gradient from windows without lesions.
        func gradient(_ window: Int, _ name: String) -> Tensor {
            results[window].gradients[name] ?? Tensor(shape: model.weights[name].shape)
        }
        optimiser.update(&parameters, gradients: names.map { name in
            let (first, second) = (gradient(0, name), gradient(1, name))
            return Tensor(shape: first.shape, scalars: zip(first.scalars, second.scalars).map { ($0 + $1) / 2 })
        })
        // AdamW's first step barely depends on the gradient's scale, but its first moment is
        // exactly (1 - β₁) times the gradient, so it distinguishes a mean from a sum.
        for (index, name) in names.enumerated() {
            let mean = zip(gradient(0, name).scalars, gradient(1, name).scalars).map { 0.1 * ($0 + $1) / 2 }
            let moment = batched.optimiser.moments.first[index]
            let difference = zip(moment, mean).map { abs($0 - $1) }.max() ?? 0
            #expect(difference <= 1e-6 * (mean.map(abs).max() ?? 0) + 1e-12, "\(name) first moment: largest difference \(difference)")
        }
        for (name, expected) in zip(names, parameters) {
            let actual = batched.model.weights[name].scalars
            let difference = zip(actual, expected.scalars).map { abs($0 - $1) }.max() ?? 0
            #expect(difference < 1e-6, "\(name): largest difference \(difference)")
        }
        #expect(names.contains { gradient(0, $0).scalars != gradient(1, $0).scalars },
                "the two windows must have different gradients for the test to mean anything")
    }

    @Test func fewStepsLowerTheLoss() throws {
        let (phases, labels) = Self.problem()
        var trainer = SegmentationTrainer(model: .random(Self.tiny, seed: 12), optimiser: AdamW(learningRate: 1e-2))
        var losses: [Float] = []
        for _ in 0..<12 { losses.append(try trainer.step(phases, labels: labels)) }
        #expect(losses.last! < 0.8 * losses.first!, "losses \(losses)")
    }
}
