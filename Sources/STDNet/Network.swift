// STD-Net and the early-fusion baseline, inference: encoder, temporal modules, decoder,
// segmentation head and the lesion characterisation head, on channels-last tensors.
import Foundation
import NeuralEngine

/// Time spent in each stage of one forward pass, in milliseconds.
public struct StageTimings: Sendable, Equatable {
    public var spatialEncodingMilliseconds = 0.0
    public var temporalModellingMilliseconds = 0.0
    public var decodingMilliseconds = 0.0

    public static func + (lhs: StageTimings, rhs: StageTimings) -> StageTimings {
        StageTimings(spatialEncodingMilliseconds: lhs.spatialEncodingMilliseconds + rhs.spatialEncodingMilliseconds,
                     temporalModellingMilliseconds: lhs.temporalModellingMilliseconds + rhs.temporalModellingMilliseconds,
                     decodingMilliseconds: lhs.decodingMilliseconds + rhs.decodingMilliseconds)
    }
}

/// The output of one window.
public struct WindowOutput: Sendable {
    /// Segmentation logits, shape (1, D, H, W, classes).
    public let logits: Tensor
    /// Fused features at levels 0 and 1, shapes (1, D, H, W, C0) and (1, D/2, H/2, W/2, C1),
    /// for the characterisation head.
    public let fusedFeatures: [Tensor]
    public let timings: StageTimings
}

/// A loaded model: configuration and weights.
public struct STDNetModel: Sendable {
    public let configuration: ModelConfiguration
    public let weights: ModelWeights

    /// Creates a model, checking every weight's name and shape against the configuration.
    public init(configuration: ModelConfiguration, weights: ModelWeights) throws {
        try weights.validate(against: configuration)
        self.configuration = configuration
        self.weights = weights
    }

    /// Runs one window.
    ///
    /// - parameter phases: one volume per phase slot, each (1, D, H, W, 1) with D, H and W
    ///   multiples of ``ModelConfiguration/gridMultiple``; nil for a phase the study lacks.
    ///   Missing phases are left out of the encoder and masked in the temporal modules, so the
    ///   result equals that of a model given only the present phases.
    public func forward(_ phases: [Tensor?]) -> WindowOutput {
        precondition(phases.count == configuration.phaseSlots, "expected \(configuration.phaseSlots) phase slots, got \(phases.count)")
        guard let shape = phases.compactMap({ $0 }).first?.shape else { preconditionFailure("a window needs at least one phase") }
        let multiple = configuration.gridMultiple
        precondition(shape.count == 5 && shape[0] == 1 && shape[4] == 1 && shape[1...3].allSatisfy { $0 % multiple == 0 },
                     "phase volumes must be (1, D, H, W, 1) with D, H, W multiples of \(multiple), got \(shape)")

        var timings = StageTimings()
        let clock = ContinuousClock()
        let encodingStart = clock.now
        let present = phases.map { $0 != nil }
        let skips: [Tensor]
        switch configuration.architecture {
        case .stdNet:
            // The shared encoder runs once with the present phases as its batch.
            let batch = stackBatch(phases.compactMap { $0 })
            let encoded = encode(batch)
            timings.spatialEncodingMilliseconds = (clock.now - encodingStart) / .milliseconds(1)
            let temporalStart = clock.now
            skips = encoded.enumerated().map { level, features in
                TemporalEncoder.forward(phases: scatterSlots(features, present: present), presentPhases: present,
                                        parameters: temporalParameters(level: level))
            }
            timings.temporalModellingMilliseconds = (clock.now - temporalStart) / .milliseconds(1)
        case .earlyFusion:
            let zeros = Tensor(shape: shape)
            let channelsLast = Concatenation.forward(phases.map { $0 ?? zeros })
            skips = encode(channelsLast)
            timings.spatialEncodingMilliseconds = (clock.now - encodingStart) / .milliseconds(1)
        }

        let decodingStart = clock.now
        var decoded = skips.last!
        for level in stride(from: configuration.channels.count - 2, through: 0, by: -1) {
            let joined = TrilinearUpsampling.forward(decoded, concatenatedWith: skips[level])
            decoded = convolutionBlock(joined, prefix: "decoder.\(level)")
        }
        let logits = Convolution3D.forward(input: decoded, weight: weights["head.weight"], bias: weights["head.bias"],
                                           geometry: ConvolutionGeometry())
        timings.decodingMilliseconds = (clock.now - decodingStart) / .milliseconds(1)
        return WindowOutput(logits: logits, fusedFeatures: [skips[0], skips[1]], timings: timings)
    }

    /// Lesion class probabilities from the fused features pooled inside one lesion.
    ///
    /// - parameter mask: one flag per voxel of the level-0 grid, `true` inside the lesion.
    /// - returns: probabilities in the order of ``ModelConfiguration/lesionClasses``.
    public func characterise(_ features: [Tensor], mask: [Bool]) -> [Double] {
        let level0 = features[0]
        let size = Array(level0.shape[1...3])
        precondition(mask.count == size.reduce(1, *), "lesion mask has \(mask.count) voxels for a grid of \(size)")
        let coarseMask = halvedMask(mask, extent: size)
        let pooled = Concatenation.forward([
            MaskedMeanPooling.forward(level0.reshaped([1, mask.count, level0.shape[4]]), mask: mask),
            MaskedMeanPooling.forward(features[1].reshaped([1, coarseMask.count, features[1].shape[4]]), mask: coarseMask),
        ])
        let hidden = GELU.forward(Linear.forward(input: pooled, weight: weights["characterisation.fc1.weight"],
                                                 bias: weights["characterisation.fc1.bias"]))
        let logits = Linear.forward(input: hidden, weight: weights["characterisation.fc2.weight"], bias: weights["characterisation.fc2.bias"])
        return Softmax.forward(logits).scalars.map(Double.init)
    }

    // MARK: Layers

    private func encode(_ input: Tensor) -> [Tensor] {
        var features: [Tensor] = []
        var current = input
        for level in configuration.channels.indices {
            current = residualStage(current, level: level)
            features.append(current)
        }
        return features
    }

    /// conv3 (stride 2 after the first stage) -> norm -> LeakyReLU -> conv3 -> norm, plus a
    /// 1x1x1 projection of the input, then LeakyReLU. The norms and activations work in place,
    /// and the second norm, the skip sum and the final LeakyReLU run in one pass.
    private func residualStage(_ input: Tensor, level: Int) -> Tensor {
        let prefix = "encoder.\(level)"
        let stride = level == 0 ? 1 : 2
        var hidden = convolution(input, "\(prefix).conv1", ConvolutionGeometry(stride: stride, padding: 1))
        normalise(&hidden, "\(prefix).norm1")
        var sum = convolution(hidden, "\(prefix).conv2", ConvolutionGeometry(stride: 1, padding: 1))
        // The first stage's skip projection of STD-Net's one-channel phases is computed inside
        // the norm's last pass, which saves writing and reading a full-resolution volume.
        let skip: InstanceNorm.Residual = input.shape[4] == 1 && stride == 1
            ? .singleChannelProjection(input: input, weight: weights["\(prefix).skip.weight"], bias: weights["\(prefix).skip.bias"])
            : .tensor(convolution(input, "\(prefix).skip", ConvolutionGeometry(stride: stride, padding: 0)))
        normalise(&sum, "\(prefix).norm2", adding: skip)
        return sum
    }

    private func convolutionBlock(_ input: Tensor, prefix: String) -> Tensor {
        var hidden = convolution(input, "\(prefix).conv1", ConvolutionGeometry(stride: 1, padding: 1))
        normalise(&hidden, "\(prefix).norm1")
        hidden = convolution(hidden, "\(prefix).conv2", ConvolutionGeometry(stride: 1, padding: 1))
        normalise(&hidden, "\(prefix).norm2")
        return hidden
    }

    private func convolution(_ input: Tensor, _ name: String, _ geometry: ConvolutionGeometry) -> Tensor {
        Convolution3D.forward(input: input, weight: weights["\(name).weight"], bias: weights["\(name).bias"], geometry: geometry)
    }

    /// Normalises `tensor` in place, adds `residual` when given, then applies LeakyReLU.
    private func normalise(_ tensor: inout Tensor, _ name: String, adding residual: InstanceNorm.Residual? = nil) {
        InstanceNorm.normalise(&tensor, scale: weights["\(name).scale"], shift: weights["\(name).shift"],
                               adding: residual, leakyReLUSlope: LeakyReLU.defaultSlope)
    }

    func temporalParameters(level: Int) -> TemporalEncoder.Parameters {
        let prefix = "temporal.\(level)"
        return TemporalEncoder.Parameters(
            phaseEmbedding: weights["\(prefix).phase_embedding"],
            attentionNormScale: weights["\(prefix).attention_norm.scale"], attentionNormShift: weights["\(prefix).attention_norm.shift"],
            attention: MultiHeadAttention.Parameters(
                heads: configuration.heads,
                inputProjectionWeight: weights["\(prefix).attention.in_proj.weight"], inputProjectionBias: weights["\(prefix).attention.in_proj.bias"],
                outputProjectionWeight: weights["\(prefix).attention.out_proj.weight"], outputProjectionBias: weights["\(prefix).attention.out_proj.bias"]),
            mlpNormScale: weights["\(prefix).mlp_norm.scale"], mlpNormShift: weights["\(prefix).mlp_norm.shift"],
            mlpInputWeight: weights["\(prefix).mlp.fc1.weight"], mlpInputBias: weights["\(prefix).mlp.fc1.bias"],
            mlpOutputWeight: weights["\(prefix).mlp.fc2.weight"], mlpOutputBias: weights["\(prefix).mlp.fc2.bias"],
            poolingQuery: weights["\(prefix).pooling_query"])
    }
}

/// Returns a (d, h, w) mask on the grid of half the extent (level 1): a coarse voxel is inside
/// when any of its fine voxels is.
func halvedMask(_ mask: [Bool], extent: [Int]) -> [Bool] {
    var coarse = [Bool](repeating: false, count: mask.count / 8)
    for index in mask.indices where mask[index] {
        let w = index % extent[2], h = (index / extent[2]) % extent[1], d = index / (extent[2] * extent[1])
        coarse[(w / 2) + (extent[2] / 2) * ((h / 2) + (extent[1] / 2) * (d / 2))] = true
    }
    return coarse
}

/// Stacks (1, D, H, W, C) volumes into one (N, D, H, W, C) batch.
func stackBatch(_ volumes: [Tensor]) -> Tensor {
    var scalars: [Float] = []
    scalars.reserveCapacity(volumes.reduce(0) { $0 + $1.count })
    for volume in volumes { scalars += volume.scalars }
    return Tensor(shape: [volumes.count] + Array(volumes[0].shape.dropFirst()), scalars: scalars)
}

/// Spreads the present phases' features (N present, ...) over all phase slots (T, ...), zeros
/// in the missing slots, which the temporal module masks.
func scatterSlots(_ features: Tensor, present: [Bool]) -> Tensor {
    if present.allSatisfy({ $0 }) { return features }
    let perPhase = features.count / features.shape[0]
    var scalars = [Float](repeating: 0, count: perPhase * present.count)
    var source = 0
    for (slot, isPresent) in present.enumerated() where isPresent {
        scalars.replaceSubrange(slot * perPhase..<(slot + 1) * perPhase, with: features.scalars[source * perPhase..<(source + 1) * perPhase])
        source += 1
    }
    return Tensor(shape: [present.count] + Array(features.shape.dropFirst()), scalars: scalars)
}
