// A model on disk: config.json and model.safetensors in one folder.
import Foundation

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
        let configurationURL = folder.appendingPathComponent("config.json")
        let configuration: ModelConfiguration
        do {
            configuration = try JSONDecoder().decode(ModelConfiguration.self, from: Data(contentsOf: configurationURL))
        } catch {
            throw SafetensorsError(description: "cannot read the model configuration \(configurationURL.path): \(error)")
        }
        if let threshold = configuration.lesionThreshold {
            guard threshold > 0, threshold < 1, configuration.segmentationClasses == 3 else {
                throw SafetensorsError(description: "\(configurationURL.path): lesionThreshold \(threshold) must be between 0 and 1, for 3 segmentation classes (has \(configuration.segmentationClasses))")
            }
        }
        let tensors = try Safetensors.read(from: folder.appendingPathComponent("model.safetensors"))
        return try STDNetModel(configuration: configuration, weights: ModelWeights(tensors: tensors))
    }
}
