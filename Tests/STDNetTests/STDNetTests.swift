import Foundation
import Lesions
import NeuralEngine
import STDNet
import Testing

@Suite struct STDNetTests {
    static let small = ModelConfiguration(channels: [4, 8, 8, 16], heads: 2, characterisationHidden: 8)

    static func phase(_ seed: UInt64, extent: [Int] = [8, 8, 8]) -> Tensor {
        var generator = SplitMix64(seed: seed)
        return .randomNormal(shape: [1] + extent + [1], using: &generator)
    }

    @Test func weightsRoundTripThroughFolder() throws {
        let model = STDNetModel.random(Self.small, seed: 1)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("stdnet-model-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try model.save(to: folder)
        let loaded = try STDNetModel.load(from: folder)

        #expect(loaded.configuration == model.configuration)
        #expect(loaded.weights.tensors == model.weights.tensors)
        let phases = (0..<4).map { Optional(Self.phase(UInt64(10 + $0))) }
        #expect(loaded.forward(phases).logits == model.forward(phases).logits)
    }

    @Test func lesionThresholdRoundTripsAndIsChecked() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("stdnet-threshold-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        var configuration = Self.small
        configuration.lesionThreshold = 0.9
        try Self.saveSmallModel(configuration, to: folder)
        #expect(try STDNetModel.load(from: folder).configuration.lesionThreshold == 0.9)

        // A threshold of 1.5 would silently label no voxel lesion.
        let error = try Self.loadError(of: folder, afterReplacing: "0.9", with: "1.5")
        #expect(error?.description.contains("lesionThreshold 1.5 must be greater than 0 and less than 1") == true, "\(String(describing: error))")
    }

    @Test func lesionGrowThresholdRoundTripsAndIsChecked() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("stdnet-grow-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        var configuration = Self.small
        configuration.lesionThreshold = 0.9
        configuration.lesionGrowThreshold = 0.25
        try Self.saveSmallModel(configuration, to: folder)
        #expect(try STDNetModel.load(from: folder).configuration.lesionGrowThreshold == 0.25)

        // A grow threshold above the lesion threshold would add no voxel, so it is taken for a
        // typo and rejected.
        let error = try Self.loadError(of: folder, afterReplacing: "0.25", with: "0.95")
        #expect(error?.description.contains("lesionGrowThreshold 0.95 must be greater than 0 and at most lesionThreshold 0.9") == true,
                "\(String(describing: error))")
    }

    @Test func slidingWindowRoundTripsAndIsChecked() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("stdnet-window-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        // Files written before the window was stored slide the shipped weights' window.
        try Self.saveSmallModel(Self.small, to: folder)
        #expect(try STDNetModel.load(from: folder).configuration.slidingWindow == [32, 64, 64])

        var configuration = Self.small
        configuration.window = [16, 40, 48]
        try Self.saveSmallModel(configuration, to: folder)
        #expect(try STDNetModel.load(from: folder).configuration.slidingWindow == [16, 40, 48])

        // 36 voxels cannot be halved three times.
        let error = try Self.loadError(of: folder, afterReplacing: "40", with: "36")
        #expect(error?.description.contains("window [16, 36, 48] must be three positive multiples of \(Self.small.gridMultiple) (D, H, W) with at most 2097152 voxels in all") == true,
                "\(String(describing: error))")
        // 100,000,000 x 36 x 48 voxels take about 690 GB for one channel of Float32.
        let tooLarge = try Self.loadError(of: folder, afterReplacing: "16,", with: "100000000,")
        #expect(tooLarge?.description.contains("window [100000000, 36, 48] must be") == true, "\(String(describing: tooLarge))")
        // Foundation calls the file invalid JSON and names no field.
        let fraction = try Self.loadError(of: folder, afterReplacing: "100000000,", with: "16.5,")
        #expect(fraction?.description == "\(folder.path)/config.json: window must contain whole numbers", "\(String(describing: fraction))")
    }

    @Test func configurationMistakesNamed() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("stdnet-configuration-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        // The small model has channels 4, 8, 8, 16 and 2 heads.
        let edits: [(old: String, new: String, message: String)] = [
            (#""heads" : 2,"#, #""heads" : 2, "lesionTreshold" : 0.9,"#, "config.json has unknown settings: lesionTreshold. Correct their names or remove them"),
            (#""heads" : 2,"#, #""heads" : 3,"#, "config.json: heads 3 must divide the channels of every stage, and 4 does not"),
            (#""heads" : 2,"#, #""heads" : 0,"#, "config.json: heads must be positive, got 0"),
            (#""heads" : 2,"#, #""heads" : "2","#, "config.json: heads expects a number"),
            (#""heads" : 2,"#, "", "config.json: heads is missing"),
            (#""std-net""#, #""unet""#, "config.json: architecture must be std-net or early-fusion"),
        ]
        for edit in edits {
            try Self.saveSmallModel(Self.small, to: folder)
            let error = try Self.loadError(of: folder, afterReplacing: edit.old, with: edit.new)
            #expect(error?.description.hasSuffix(edit.message) == true, "\(String(describing: error))")
        }

        // A spacing of 0 mm takes infinitely many voxels to span a study, and 0.1 mm takes
        // 3600 x 2640 x 1800 for the phantoms' abdomen.
        let spacings: [(spacing: [Double], message: String)] = [
            ([12, 12, 0], "spacing [12.0, 12.0, 0.0] must be three positive millimetre values (x, y, z)"),
            ([0.1, 0.1, 0.1], "spacing [0.1, 0.1, 0.1] takes more than 268435456 voxels to span the 360 x 264 x 180 mm abdomen of the phantoms: give a coarser spacing"),
        ]
        for (spacing, message) in spacings {
            var configuration = Self.small
            configuration.spacing = spacing
            try Self.saveSmallModel(configuration, to: folder)
            let error = #expect(throws: SafetensorsError.self) { try STDNetModel.load(from: folder) }
            #expect(error?.description == "\(folder.path)/config.json: \(message)", "\(String(describing: error))")
        }
    }

    /// Saves random weights of the small model with `configuration` into `folder`.
    static func saveSmallModel(_ configuration: ModelConfiguration, to folder: URL) throws {
        try STDNetModel(configuration: configuration, weights: STDNetModel.random(small, seed: 1).weights).save(to: folder)
    }

    /// Replaces `old` with `new` in the config.json of `folder` and returns the error that
    /// loading the folder then raises.
    static func loadError(of folder: URL, afterReplacing old: String, with new: String) throws -> SafetensorsError? {
        let file = folder.appendingPathComponent("config.json")
        let text = try String(contentsOf: file, encoding: .utf8).replacingOccurrences(of: old, with: new)
        try text.write(to: file, atomically: true, encoding: .utf8)
        return #expect(throws: SafetensorsError.self) { try STDNetModel.load(from: folder) }
    }

    @Test func missingWeightsFileNamed() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("stdnet-no-weights-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try STDNetModel.random(Self.small, seed: 1).save(to: folder)
        try FileManager.default.removeItem(at: folder.appendingPathComponent("model.safetensors"))
        let error = #expect(throws: SafetensorsError.self) { try STDNetModel.load(from: folder) }
        #expect(error?.description.hasPrefix("cannot read the model weights \(folder.path)/model.safetensors: ") == true, "\(String(describing: error))")
        #expect(error?.description.contains("NSCocoaErrorDomain") == false, "\(String(describing: error))")
    }

    @Test func truncatedWeightsNamed() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("stdnet-truncated-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try STDNetModel.random(Self.small, seed: 1).save(to: folder)
        let weightsURL = folder.appendingPathComponent("model.safetensors")
        let file = try Data(contentsOf: weightsURL)
        try file.prefix(file.count - 100).write(to: weightsURL)
        let error = #expect(throws: SafetensorsError.self) { try STDNetModel.load(from: folder) }
        // The last tensor in the data ends at its last byte; the file lost 100 of them.
        #expect(error?.description.hasSuffix("but the file has \(Self.dataBytes(of: file) - 100) data bytes: it is truncated") == true,
                "\(String(describing: error))")
    }

    /// Returns the number of bytes after the header of a safetensors file.
    static func dataBytes(of file: Data) -> Int {
        let headerLength = file.prefix(8).withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        return file.count - 8 - headerLength
    }

    @Test func mismatchNamesTensorAndShape() {
        var tensors = STDNetModel.random(Self.small, seed: 1).weights.tensors
        tensors["decoder.1.conv1.weight"] = Tensor(shape: [8, 3, 3, 3, 3])
        tensors["extra.bias"] = Tensor(shape: [2])
        tensors["head.bias"] = nil
        let error = #expect(throws: SafetensorsError.self) {
            try STDNetModel(configuration: Self.small, weights: ModelWeights(tensors: tensors))
        }
        #expect(error?.description.contains("'decoder.1.conv1.weight' has shape [8, 3, 3, 3, 3], expected [8, 16, 3, 3, 3]") == true)
        #expect(error?.description.contains("missing 'head.bias' of shape [3]") == true)
        #expect(error?.description.contains("unexpected 'extra.bias' of shape [2]") == true)
    }

    @Test func missingPhaseLeavesNoTrace() throws {
        let model = STDNetModel.random(Self.small, seed: 2)
        let phases = (0..<4).map { Self.phase(UInt64(20 + $0)) }
        let withoutArterial = model.forward([phases[0], nil, phases[2], phases[3]]).logits
        let withArterial = model.forward(phases.map { Optional($0) }).logits
        #expect(withoutArterial != withArterial, "the arterial phase changed nothing")

        // Were the empty slot attended or pooled, its phase embedding would reach the output.
        var tensors = model.weights.tensors
        for level in 0..<4 {
            var embedding = tensors["temporal.\(level).phase_embedding"]!
            let width = embedding.shape[1]
            for channel in 0..<width { embedding.scalars[width + channel] += 5 }
            tensors["temporal.\(level).phase_embedding"] = embedding
        }
        let altered = try STDNetModel(configuration: Self.small, weights: ModelWeights(tensors: tensors))
        #expect(altered.forward([phases[0], nil, phases[2], phases[3]]).logits == withoutArterial)
    }

    @Test func slidingWindowEqualsSeparateWindows() {
        let model = STDNetModel.random(Self.small, seed: 3)
        let extent = [16, 8, 8]
        let volumes = (0..<4).map { Self.phase(UInt64(30 + $0), extent: extent).scalars }
        let result = model.segment(volumes.map { Optional($0) }, extent: extent, options: SlidingWindowOptions(window: [8, 8, 8], overlap: 0))
        #expect(result.windowCount == 2)

        // Without overlap each voxel belongs to one window, so the weights cancel exactly.
        for (half, start) in [0, 8].enumerated() {
            let window = volumes.map { volume -> Tensor? in
                Tensor(shape: [1, 8, 8, 8, 1], scalars: Array(volume[(start * 64)..<((start + 8) * 64)]))
            }
            let expected = Softmax.forward(model.forward(window).logits).scalars
            let produced = Array(result.probabilities.scalars[(half * 8 * 64 * 3)..<((half + 1) * 8 * 64 * 3)])
            let largest = zip(expected, produced).map { abs($0 - $1) }.max() ?? 1
            #expect(largest < 1e-6, "window \(half): largest difference \(largest)")
        }
    }

    @Test func segmentationStopsWhenCheckThrows() {
        struct Stop: Error {}
        let model = STDNetModel.random(Self.small, seed: 3)
        let extent = [24, 8, 8]
        let volumes = (0..<4).map { Optional(Self.phase(UInt64(50 + $0), extent: extent).scalars) }
        var checks = 0
        #expect(throws: Stop.self) {
            _ = try model.segment(volumes, extent: extent, options: SlidingWindowOptions(window: [8, 8, 8], overlap: 0)) {
                checks += 1
                if checks == 2 { throw Stop() }
            }
        }
        // Three windows along D; the second check stopped the pass before the second window.
        #expect(checks == 2)
    }

    @Test func knownBackgroundStaysBackground() {
        // Every voxel liver for the random model: without a threshold, each voxel takes its most
        // probable class, and the liver logits are raised far above the others.
        var configuration = Self.small
        configuration.lesionThreshold = nil
        var tensors = STDNetModel.random(configuration, seed: 5).weights.tensors
        tensors["head.bias"]!.scalars = [-50, 50, -50]
        let model = try! STDNetModel(configuration: configuration, weights: ModelWeights(tensors: tensors))
        let extent = [8, 8, 8]
        let volumes = (0..<4).map { Optional(Self.phase(UInt64(40 + $0), extent: extent).scalars) }
        let options = SlidingWindowOptions(window: [8, 8, 8], overlap: 0)

        let unmasked = model.segment(volumes, extent: extent, options: options)
        #expect(unmasked.labels.allSatisfy { $0 == SegmentationLabel.liver })
        // The first half of the slices is air: background there, liver in the rest.
        let air = (0..<512).map { $0 < 256 }
        let masked = model.segment(volumes, extent: extent, options: options, knownBackground: air)
        #expect(masked.labels[..<256].allSatisfy { $0 == SegmentationLabel.background })
        #expect(masked.labels[256...].allSatisfy { $0 == SegmentationLabel.liver })
    }

    @Test func earlyFusionMatchesParameterCount() {
        let reference = ModelConfiguration()
        let baseline = matchedEarlyFusion(reference)
        let stdNetCount = expectedShapes(reference).values.reduce(0) { $0 + $1.reduce(1, *) }
        let baselineCount = expectedShapes(baseline).values.reduce(0) { $0 + $1.reduce(1, *) }
        #expect(baseline.architecture == .earlyFusion)
        #expect(abs(Double(baselineCount - stdNetCount)) <= 0.05 * Double(stdNetCount), "\(baselineCount) against \(stdNetCount) parameters")
    }

    @Test func characterisationGivesProbabilities() {
        let model = STDNetModel.random(Self.small, seed: 4)
        let output = model.forward((0..<4).map { Optional(Self.phase(UInt64(40 + $0))) })
        var mask = [Bool](repeating: false, count: 512)
        for index in [73, 74, 81, 82, 137, 138] { mask[index] = true }
        let probabilities = model.characterise(output.fusedFeatures, mask: mask)
        #expect(probabilities.count == 5)
        #expect(abs(probabilities.reduce(0, +) - 1) < 1e-5)
    }
}
