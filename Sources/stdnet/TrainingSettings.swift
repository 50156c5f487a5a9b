// The options of a training run, stored beside its checkpoint so that `--resume` continues with
// the same schedule, data and loss, except where an option given with it replaces a value.
import Foundation
import Phantom
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
    var lesionCentring = LesionCentring.voxel
    var perLesionDice = 0.0
    var lesionWeight = 1.0
    var checkpointEvery = 200

    static let lesionFractionRange = 0.0...1
    static let perLesionDiceRange = 0.0...100
    static let lesionWeightRange = 0.1...100

    init() {}

    /// Decodes the stored settings. A field the file lacks keeps its default, so files written
    /// before a setting existed still load.
    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        steps = try container.decodeIfPresent(Int.self, forKey: .steps)
        batch = try container.decodeIfPresent(Int.self, forKey: .batch) ?? batch
        seed = try container.decodeIfPresent(UInt64.self, forKey: .seed) ?? seed
        learningRate = try container.decodeIfPresent(Double.self, forKey: .learningRate) ?? learningRate
        warmup = try container.decodeIfPresent(Int.self, forKey: .warmup)
        window = try container.decodeIfPresent([Int].self, forKey: .window) ?? window
        motion = try container.decodeIfPresent(Double.self, forKey: .motion) ?? motion
        lesionFraction = try container.decodeIfPresent(Double.self, forKey: .lesionFraction) ?? lesionFraction
        lesionCentring = try container.decodeIfPresent(LesionCentring.self, forKey: .lesionCentring) ?? lesionCentring
        perLesionDice = try container.decodeIfPresent(Double.self, forKey: .perLesionDice) ?? perLesionDice
        lesionWeight = try container.decodeIfPresent(Double.self, forKey: .lesionWeight) ?? lesionWeight
        checkpointEvery = try container.decodeIfPresent(Int.self, forKey: .checkpointEvery) ?? checkpointEvery
    }

    /// Reads the settings stored in `folder`, or returns nil when the folder has none (a
    /// checkpoint written before the settings were stored, or a copied model folder).
    static func load(from folder: URL) throws -> TrainingSettings? {
        let url = folder.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let settings: TrainingSettings
        let fields: [String]
        do {
            let data = try Data(contentsOf: url)
            settings = try JSONDecoder().decode(TrainingSettings.self, from: data)
            fields = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?.keys.map { $0 } ?? []
        } catch {
            throw ClientError("\(url.path) is invalid (\(error)). Correct it, or remove it to resume with the defaults and the options given")
        }
        // An unknown setting, from a newer stdnet or a typing mistake, would otherwise be dropped
        // silently and the run resumed without it.
        let unknown = fields.filter { CodingKeys(stringValue: $0) == nil }.sorted()
        guard unknown.isEmpty else {
            throw ClientError("\(url.path) has unknown settings: \(unknown.joined(separator: ", ")). "
                + "Resume with the stdnet that wrote them, or remove them to resume without them")
        }
        if let problem = settings.invalidValue {
            throw ClientError("\(url.path): \(problem). Correct it, or remove it to resume with the defaults and the options given")
        }
        return settings
    }

    /// The first stored value outside what the options accept, described by its field.
    private var invalidValue: String? {
        if let steps, steps <= 0 { return "steps must be positive, got \(steps)" }
        if batch <= 0 { return "batch must be positive, got \(batch)" }
        if !(learningRate > 0 && learningRate.isFinite) { return "learningRate must be positive, got \(learningRate)" }
        if let warmup, warmup < 0 { return "warmup must be 0 or more, got \(warmup)" }
        if window.count != 3 || !window.allSatisfy({ $0 > 0 && $0 % 8 == 0 }) { return "window must be three multiples of 8, got \(window)" }
        if !ModelConfiguration.isWithinVoxelLimit(window) {
            return "window \(window) has more than \(ModelConfiguration.largestWindowVoxels) voxels, which config.json cannot store"
        }
        if !PhantomOptions.motionRange.contains(motion) {
            let range = PhantomOptions.motionRange
            return String(format: "motion must be from %g to %g mm, got %g", range.lowerBound, range.upperBound, motion)
        }
        if !Self.lesionFractionRange.contains(lesionFraction) { return "lesionFraction must be from 0 to 1, got \(lesionFraction)" }
        if !Self.perLesionDiceRange.contains(perLesionDice) { return "perLesionDice must be from 0 to 100, got \(perLesionDice)" }
        if !Self.lesionWeightRange.contains(lesionWeight) { return "lesionWeight must be from 0.1 to 100, got \(lesionWeight)" }
        if checkpointEvery <= 0 { return "checkpointEvery must be positive, got \(checkpointEvery)" }
        return nil
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

        if let text = try arguments.option("window") { window = try slidingWindow(text) }
        motion = try arguments.number("motion", in: PhantomOptions.motionRange, noun: "millimetres", default: motion)
        lesionFraction = try arguments.number("lesion-fraction", in: Self.lesionFractionRange, noun: "a number", default: lesionFraction)
        if let text = try arguments.option("lesion-centring") {
            guard let value = LesionCentring(rawValue: text) else { throw UsageError("--lesion-centring must be voxel or lesion, got '\(text)'") }
            lesionCentring = value
        }

        perLesionDice = try arguments.number("per-lesion-dice", in: Self.perLesionDiceRange, noun: "a weight", default: perLesionDice)
        lesionWeight = try arguments.number("lesion-weight", in: Self.lesionWeightRange, noun: "a weight", default: lesionWeight)
    }

    /// Describes the settings in one line for the training log, with the warm-up the schedule uses.
    func summary(warmupSteps: Int) -> String {
        let parts = [
            "batch \(batch)", "seed \(seed)", "peak learning rate \(learningRate)", "warm-up steps \(warmupSteps)",
            "window \(window.map(String.init).joined(separator: ","))", "motion \(motion) mm", "lesion fraction \(lesionFraction)",
            "lesion centring \(lesionCentring.rawValue)", "per-lesion Dice weight \(perLesionDice)",
            "lesion cross-entropy weight \(lesionWeight)", "checkpoint every \(checkpointEvery) steps",
        ]
        return parts.joined(separator: ", ")
    }
}
