// A model on disk: config.json and model.safetensors in one folder.
import Foundation
import Imaging
import NeuralEngine
import Phantom

extension STDNetModel {
    /// Draws a model with random weights, for tests and the start of training.
    public static func random(_ configuration: ModelConfiguration, seed: UInt64) -> STDNetModel {
        // Random weights match their configuration by construction.
        try! STDNetModel(configuration: configuration, weights: .random(configuration, seed: seed))
    }

    /// Writes config.json and model.safetensors into `folder`.
    public func save(to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(configuration).write(to: folder.appendingPathComponent("config.json"))
        try Safetensors.write(weights.tensors, metadata: ["architecture": configuration.architecture.rawValue],
                              to: folder.appendingPathComponent("model.safetensors"))
    }

    /// Reads a model saved by ``save(to:)``; weights that do not fit the configuration are
    /// reported by name and shape.
    public static func load(from folder: URL) throws -> STDNetModel {
        let configuration = try ModelConfiguration.load(from: folder)
        let weightsURL = folder.appendingPathComponent("model.safetensors")
        let tensors: [String: Tensor]
        do {
            tensors = try Safetensors.read(from: weightsURL)
        } catch let error as SafetensorsError {
            throw error
        } catch {
            throw SafetensorsError(description: "cannot read the model weights \(weightsURL.path): \(describe(error))")
        }
        return try STDNetModel(configuration: configuration, weights: ModelWeights(tensors: tensors))
    }
}

extension ModelConfiguration {
    /// Reads and checks the config.json in `folder`.
    public static func load(from folder: URL) throws -> ModelConfiguration {
        let configurationURL = folder.appendingPathComponent("config.json")
        let data: Data
        let configuration: ModelConfiguration
        do {
            data = try Data(contentsOf: configurationURL)
        } catch {
            throw SafetensorsError(description: "cannot read the model configuration \(configurationURL.path): \(describe(error))")
        }
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        do {
            configuration = try JSONDecoder().decode(ModelConfiguration.self, from: data)
        } catch {
            // Foundation reports a fraction where a whole number belongs as invalid JSON,
            // naming no field.
            if case DecodingError.dataCorrupted(let context) = error, context.codingPath.isEmpty, let field = fieldWithFraction(in: object) {
                throw SafetensorsError(description: "\(configurationURL.path): \(field) must contain whole numbers")
            }
            throw SafetensorsError(description: "cannot read the model configuration \(configurationURL.path): \(describe(error))")
        }
        // A misspelt setting, such as lesionTreshold, would otherwise be dropped silently.
        let unknown = ModelConfiguration.unknownKeys(of: object)
        guard unknown.isEmpty else {
            throw SafetensorsError(description: "\(configurationURL.path) has unknown settings: \(unknown.joined(separator: ", ")). Correct their names or remove them")
        }
        if let problem = configuration.invalidSize {
            throw SafetensorsError(description: "\(configurationURL.path): \(problem)")
        }
        let spacing = configuration.spacing
        guard spacing.count == 3, spacing.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw SafetensorsError(description: "\(configurationURL.path): spacing \(spacing) must be three positive millimetre values (x, y, z)")
        }
        guard PhantomOptions.boundedAbdomenGrid(spacing: Vector3(spacing[0], spacing[1], spacing[2])) != nil else {
            throw SafetensorsError(description: "\(configurationURL.path): spacing \(spacing) takes more than \(PhantomOptions.largestGridVoxels) voxels to span the \(PhantomOptions.abdomenFieldOfViewText) mm abdomen of the phantoms: give a coarser spacing")
        }
        if let threshold = configuration.lesionThreshold {
            guard threshold > 0, threshold < 1 else {
                throw SafetensorsError(description: "\(configurationURL.path): lesionThreshold \(threshold) must be greater than 0 and less than 1")
            }
            guard configuration.segmentationClasses == 3 else {
                throw SafetensorsError(description: "\(configurationURL.path): lesionThreshold needs the 3 segmentation classes background, liver and lesion, not \(configuration.segmentationClasses)")
            }
        }
        if let growThreshold = configuration.lesionGrowThreshold {
            guard let threshold = configuration.lesionThreshold else {
                throw SafetensorsError(description: "\(configurationURL.path): lesionGrowThreshold \(growThreshold) is set without a lesionThreshold: set lesionThreshold or remove lesionGrowThreshold")
            }
            guard growThreshold > 0, growThreshold <= threshold else {
                throw SafetensorsError(description: "\(configurationURL.path): lesionGrowThreshold \(growThreshold) must be greater than 0 and at most lesionThreshold \(threshold)")
            }
        }
        if let window = configuration.window {
            let multiple = configuration.gridMultiple
            guard window.count == 3, window.allSatisfy({ $0 > 0 && $0 % multiple == 0 }), ModelConfiguration.isWithinVoxelLimit(window) else {
                throw SafetensorsError(description: "\(configurationURL.path): window \(window) must be three positive multiples of \(multiple) (D, H, W) with at most \(ModelConfiguration.largestWindowVoxels) voxels in all")
            }
        }
        return configuration
    }
}

/// Returns the first whole-number field of a config.json object, alphabetically, that contains
/// a fraction, or nil if there is none.
private func fieldWithFraction(in object: [String: Any]) -> String? {
    let wholeNumberFields = ["channels", "characterisationHidden", "heads", "mlpRatio", "phaseSlots", "segmentationClasses", "window"]
    return wholeNumberFields.first { field in
        let numbers = (object[field] as? [Any] ?? [object[field] as Any]).compactMap { $0 as? NSNumber }
        return numbers.contains { $0.doubleValue.rounded() != $0.doubleValue }
    }
}

/// Returns a one-line reason for a failed read: the system's sentence for a file error, the
/// coding path and problem for invalid JSON.
private func describe(_ error: Error) -> String {
    func field(_ path: [CodingKey]) -> String {
        // Array elements show as their index: window[1].
        path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: ["."])
    }
    switch error {
    case DecodingError.keyNotFound(let key, let context):
        return "\(field(context.codingPath + [key])) is missing"
    case DecodingError.typeMismatch(let type, let context), DecodingError.valueNotFound(let type, let context):
        return "\(field(context.codingPath)) expects \(type == String.self ? "a string" : type == [Any].self ? "a list" : "a number")"
    case DecodingError.dataCorrupted(let context) where context.codingPath.map(\.stringValue) == ["architecture"]:
        return "architecture must be std-net or early-fusion"
    case DecodingError.dataCorrupted(let context):
        return context.codingPath.isEmpty ? context.debugDescription : "\(field(context.codingPath)): \(context.debugDescription)"
    default:
        return (error as NSError).localizedDescription
    }
}
