// Training checkpoints: the model folder plus the optimiser's moments and step, so a run can
// resume where it stopped.
import Foundation
import NeuralEngine

extension SegmentationTrainer {
    /// Writes the model (config.json, model.safetensors) and optimiser.safetensors into `folder`.
    public func saveCheckpoint(to folder: URL) throws {
        try model.save(to: folder)
        let (first, second) = optimiser.moments
        var tensors: [String: Tensor] = [:]
        for (index, name) in parameterNames.enumerated() where index < first.count {
            let shape = model.weights[name].shape
            tensors["first.\(name)"] = Tensor(shape: shape, scalars: first[index])
            tensors["second.\(name)"] = Tensor(shape: shape, scalars: second[index])
        }
        try Safetensors.write(tensors, metadata: ["step": String(optimiser.step)], to: folder.appendingPathComponent("optimiser.safetensors"))
    }

    /// Loads a checkpoint written by ``saveCheckpoint(to:)``; without optimiser.safetensors, or
    /// for parameters it lacks, the moments start from zero.
    public static func loadCheckpoint(from folder: URL, optimiser: AdamW) throws -> SegmentationTrainer {
        var trainer = SegmentationTrainer(model: try STDNetModel.load(from: folder), optimiser: optimiser)
        let url = folder.appendingPathComponent("optimiser.safetensors")
        guard FileManager.default.fileExists(atPath: url.path) else { return trainer }
        let tensors = try Safetensors.read(from: url)
        let step = try Safetensors.metadata(from: url)["step"].flatMap(Int.init) ?? 0
        var first: [[Float]] = []
        var second: [[Float]] = []
        for name in trainer.parameterNames {
            // A parameter the checkpoint did not train yet starts with zero moments.
            let count = trainer.model.weights[name].count
            first.append(tensors["first.\(name)"]?.scalars ?? [Float](repeating: 0, count: count))
            second.append(tensors["second.\(name)"]?.scalars ?? [Float](repeating: 0, count: count))
        }
        trainer.optimiser.restore(step: step, firstMoments: first, secondMoments: second)
        return trainer
    }
}

/// Linear warm-up to the peak rate, then cosine decay to zero at the last step.
public struct LearningRateSchedule: Sendable {
    public let peak: Float
    public let warmupSteps: Int
    public let totalSteps: Int

    public init(peak: Float, warmupSteps: Int, totalSteps: Int) {
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
    }

    public func rate(atStep step: Int) -> Float {
        if step < warmupSteps { return peak * Float(step + 1) / Float(warmupSteps) }
        let progress = Double(step - warmupSteps) / Double(max(totalSteps - warmupSteps, 1))
        return peak * Float(0.5 * (1 + cos(Double.pi * min(progress, 1))))
    }
}
