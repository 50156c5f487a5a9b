// The options of a training run, stored beside its checkpoint so that `--resume` continues with
// the same schedule, data and loss, except where an option given with it replaces a value.
import Foundation
import STDNet

/// The settings of `stdnet train` that the checkpoint's config.json does not fix (it fixes the
/// architecture and the spacing). Written to training.json with every checkpoint.
struct TrainingSettings: Codable, Equatable {
    static let fileName = "training.json"

    /// Optimiser steps in all; nil until given.
    var steps: Int?
    var batch = 1
    var seed: UInt64 = 1
    var learningRate = 0.002
    /// Warm-up steps; nil for 5% of the steps.
    var warmup: Int?
    /// Window extent (D, H, W) in voxels.
    var window = [32, 64, 64]
    /// Largest breathing shift between phases, in mm.
    var motion = 10.0
    var lesionFraction = 0.67
    var lesionCentring = LesionCentring.voxel.rawValue
    var perLesionDice = 0.0
    var lesionWeight = 1.0
    var checkpointEvery = 200

    /// Reads the settings stored in `folder`, or returns nil when the folder has none (a
    /// checkpoint written before the settings were stored, or a copied model folder).
    static func load(from folder: URL) throws -> TrainingSettings? {
        let url = folder.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do {
            return try JSONDecoder().decode(TrainingSettings.self, from: Data(contentsOf: url))
        } catch {
            throw ClientError("\(url.path) is not a valid training settings file (\(error)); remove it to resume with the default settings and the options given")
        }
    }

    func save(to folder: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: folder.appendingPathComponent(Self.fileName), options: .atomic)
    }

    /// Replaces each setting whose option is given in `arguments`.
    mutating func override(from arguments: inout Arguments) throws {
        if let text = try arguments.option("steps") {
            guard let value = Int(text), value > 0 else { throw UsageError("--steps expects a positive number of steps, got '\(text)'") }
            steps = value
        }
        batch = try arguments.integer("batch", default: batch)
        guard batch > 0 else { throw UsageError("--batch expects a positive number of windows, got \(batch)") }
        seed = try arguments.nonNegativeInteger("seed", default: seed)
        if let text = try arguments.option("learning-rate") {
            guard let value = Double(text), value > 0, value.isFinite else {
                throw UsageError("--learning-rate expects a positive number, got '\(text)'")
            }
            learningRate = value
        }
        if let text = try arguments.option("warmup") {
            guard let value = Int(text), value >= 0 else { throw UsageError("--warmup expects a number of steps, 0 or more, got '\(text)'") }
            warmup = value
        }
        checkpointEvery = try arguments.integer("checkpoint-every", default: checkpointEvery)
        guard checkpointEvery > 0 else { throw UsageError("--checkpoint-every expects a positive number of steps, got \(checkpointEvery)") }

        if let text = try arguments.option("window") {
            let values = text.split(separator: ",").compactMap { Int($0) }
            guard values.count == 3, values.allSatisfy({ $0 > 0 && $0 % 8 == 0 }) else {
                throw UsageError("--window expects three multiples of 8, got '\(text)'")
            }
            window = values
        }
        if let text = try arguments.option("motion") {
            guard let value = Double(text), value >= 0, value.isFinite else { throw UsageError("--motion expects millimetres, got '\(text)'") }
            motion = value
        }
        lesionFraction = try arguments.number("lesion-fraction", in: 0...1, noun: "a number", default: lesionFraction)
        if let text = try arguments.option("lesion-centring") {
            guard LesionCentring(rawValue: text) != nil else { throw UsageError("--lesion-centring must be voxel or lesion, got '\(text)'") }
            lesionCentring = text
        }

        perLesionDice = try arguments.number("per-lesion-dice", in: 0...100, noun: "a weight", default: perLesionDice)
        lesionWeight = try arguments.number("lesion-weight", in: 0.1...100, noun: "a weight", default: lesionWeight)
    }

    /// One line for the training log.
    var summary: String {
        var parts = ["batch \(batch)", "seed \(seed)", "peak learning rate \(learningRate)"]
        if let warmup { parts.append("warm-up \(warmup) steps") }
        parts += ["window \(window.map(String.init).joined(separator: ","))", "motion \(motion) mm", "lesion fraction \(lesionFraction)",
                  "lesion centring \(lesionCentring)", "per-lesion Dice weight \(perLesionDice)", "lesion cross-entropy weight \(lesionWeight)",
                  "checkpoint every \(checkpointEvery) steps"]
        return parts.joined(separator: ", ")
    }
}
