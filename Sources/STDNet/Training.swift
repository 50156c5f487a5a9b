// The backward pass and one optimiser step: forward with the values the backward pass needs,
// then the layers in reverse, each with the engine's backward op. The loss is cross-entropy plus
// soft Dice on the segmentation (optionally with lesion voxels weighted in the cross-entropy and a
// soft Dice per lesion), plus the characterisation head's cross-entropy per lesion.
import Foundation
import NeuralEngine

/// The optional terms of the segmentation loss.
public struct SegmentationLossSettings: Sendable, Equatable {
    /// Weight of ``InstanceDiceLoss`` over the window's lesions, which counts every lesion once
    /// whatever its size; 0 leaves it out.
    public var perLesionDiceWeight: Float
    /// Weight of lesion voxels in the cross-entropy, against 1 for background and liver.
    public var lesionCrossEntropyWeight: Float

    public init(perLesionDiceWeight: Float = 0, lesionCrossEntropyWeight: Float = 1) {
        self.perLesionDiceWeight = perLesionDiceWeight
        self.lesionCrossEntropyWeight = lesionCrossEntropyWeight
    }
}

/// The loss of one window and the gradient of every named parameter.
public struct SegmentationGradients: Sendable {
    /// Cross-entropy plus soft Dice over the window's voxels, plus the weighted per-lesion Dice
    /// loss, plus the lesion class loss.
    public let loss: Float
    public let crossEntropy: Float
    public let dice: Float
    /// The per-lesion Dice loss before its weight; 0 when the weight is 0 or the window has no
    /// lesions.
    public let perLesionDice: Float
    /// Mean cross-entropy of the lesion classes; 0 for a window without lesions.
    public let lesionClassLoss: Float
    public let gradients: [String: Tensor]
}

/// The lesion class's index among the segmentation classes (background, liver, lesion).
private let lesionLabel = 2

/// One lesion in a training window: its voxels (indices in (d, h, w) order) and its class, an
/// index into ``ModelConfiguration/lesionClasses``.
public struct LesionTarget: Sendable {
    public let voxels: [Int]
    public let classIndex: Int

    public init(voxels: [Int], classIndex: Int) {
        self.voxels = voxels
        self.classIndex = classIndex
    }
}

extension STDNetModel {
    /// Computes the segmentation loss of one window and its gradients.
    ///
    /// - parameters:
    ///   - phases: as for ``forward(_:)``.
    ///   - labels: the true class of every voxel, D·H·W values in (d, h, w) order.
    ///   - lesions: the lesions in the window, for the characterisation head and the per-lesion Dice.
    ///   - settings: the optional terms of the loss.
    public func segmentationGradients(_ phases: [Tensor?], labels: [UInt8], lesions: [LesionTarget] = [],
                                      settings: SegmentationLossSettings = SegmentationLossSettings()) -> SegmentationGradients {
        var gradients: [String: Tensor] = [:]
        let present = phases.map { $0 != nil }
        let shape = phases.compactMap { $0 }.first!.shape
        let levels = configuration.channels.count

        // Forward, keeping what each layer's backward needs.
        let input: Tensor
        switch configuration.architecture {
        case .stdNet: input = stackBatch(phases.compactMap { $0 })
        case .earlyFusion: input = Concatenation.forward(phases.map { $0 ?? Tensor(shape: shape) })
        }
        var encoderCaches: [ResidualCache] = []
        var current = input
        for level in 0..<levels {
            let cache = residualForward(current, level: level)
            encoderCaches.append(cache)
            current = cache.output
        }
        var slotFeatures: [Tensor] = []
        var skips: [Tensor] = []
        for level in 0..<levels {
            if configuration.architecture == .stdNet {
                let slots = scatterSlots(encoderCaches[level].output, present: present)
                slotFeatures.append(slots)
                skips.append(TemporalEncoder.forward(phases: slots, presentPhases: present, parameters: temporalParameters(level: level)))
            } else {
                skips.append(encoderCaches[level].output)
            }
        }
        var decoderCaches: [Int: BlockCache] = [:]
        var decoded = skips[levels - 1]
        for level in stride(from: levels - 2, through: 0, by: -1) {
            let joined = Concatenation.forward([TrilinearUpsampling.forward(decoded), skips[level]])
            let cache = blockForward(joined, prefix: "decoder.\(level)", previousShape: decoded.shape)
            decoderCaches[level] = cache
            decoded = cache.output
        }
        let logits = Convolution3D.forward(input: decoded, weight: weights["head.weight"], bias: weights["head.bias"], geometry: ConvolutionGeometry())

        // Loss: cross-entropy and soft Dice on the softmax, and the weighted per-lesion Dice.
        let classes = configuration.segmentationClasses
        let rows = logits.reshaped([logits.count / classes, classes])
        let perLesionDiceWeight = settings.perLesionDiceWeight
        var classWeights = [Float](repeating: 1, count: classes)
        classWeights[lesionLabel] = settings.lesionCrossEntropyWeight
        let (crossEntropy, probabilities) = CrossEntropyLoss.forward(logits: rows, labels: labels, classWeights: classWeights)
        let dice = DiceLoss.forward(probabilities: probabilities, labels: labels)
        var probabilitiesGradient = DiceLoss.backward(probabilities: probabilities, labels: labels)
        var perLesionDice: Float = 0
        if perLesionDiceWeight > 0 {
            let instances = lesions.map(\.voxels)
            perLesionDice = InstanceDiceLoss.forward(probabilities: probabilities, labels: labels, target: lesionLabel, instances: instances)
            let instanceGradient = InstanceDiceLoss.backward(probabilities: probabilities, labels: labels, target: lesionLabel, instances: instances)
            for index in probabilitiesGradient.scalars.indices {
                probabilitiesGradient.scalars[index] += perLesionDiceWeight * instanceGradient.scalars[index]
            }
        }
        var logitsGradient = CrossEntropyLoss.backward(probabilities: probabilities, labels: labels, classWeights: classWeights)
        let diceGradient = Softmax.backward(outputGradient: probabilitiesGradient, output: probabilities)
        for index in logitsGradient.scalars.indices { logitsGradient.scalars[index] += diceGradient.scalars[index] }

        // Backward: head, decoder, temporal modules, encoder.
        let head = Convolution3D.backward(outputGradient: logitsGradient.reshaped(logits.shape), input: decoded,
                                          weight: weights["head.weight"], geometry: ConvolutionGeometry())
        gradients["head.weight"] = head.weight
        gradients["head.bias"] = head.bias
        var skipGradients = skips.map { Tensor(shape: $0.shape) }
        var decodedGradient = head.input
        for level in 0...(levels - 2) {
            let cache = decoderCaches[level]!
            let (joinedGradient, blockGradients) = blockBackward(decodedGradient, cache: cache, prefix: "decoder.\(level)")
            gradients.merge(blockGradients) { $1 }
            let parts = Concatenation.backward(outputGradient: joinedGradient, widths: [cache.previousShape[4], skips[level].shape[4]])
            skipGradients[level].add(parts[1])
            decodedGradient = TrilinearUpsampling.backward(outputGradient: parts[0], inputShape: cache.previousShape)
        }
        skipGradients[levels - 1].add(decodedGradient)
        let lesionClassLoss = characterisationBackward(lesions, features: [skips[0], skips[1]], gradients: &gradients,
                                                       featureGradients: &skipGradients)

        var featureGradients: [Tensor] = []
        for level in 0..<levels {
            guard configuration.architecture == .stdNet else {
                featureGradients.append(skipGradients[level])
                continue
            }
            let temporal = TemporalEncoder.backward(outputGradient: skipGradients[level], phases: slotFeatures[level],
                                                    presentPhases: present, parameters: temporalParameters(level: level))
            gradients.merge(temporalGradientNames(temporal.parameters, level: level)) { $1 }
            featureGradients.append(gatherSlots(temporal.phases, present: present))
        }
        var outputGradient = featureGradients[levels - 1]
        for level in stride(from: levels - 1, through: 0, by: -1) {
            let (inputGradient, stageGradients) = residualBackward(outputGradient, cache: encoderCaches[level], level: level)
            gradients.merge(stageGradients) { $1 }
            if level > 0 {
                outputGradient = featureGradients[level - 1]
                outputGradient.add(inputGradient)
            }
        }
        return SegmentationGradients(loss: crossEntropy + dice + perLesionDiceWeight * perLesionDice + lesionClassLoss,
                                     crossEntropy: crossEntropy, dice: dice, perLesionDice: perLesionDice,
                                     lesionClassLoss: lesionClassLoss, gradients: gradients)
    }

    // MARK: Characterisation head

    /// Adds the class loss of every lesion: forward through pooling and the MLP, then back into
    /// the head's weights and the fused features at levels 0 and 1. Returns the mean loss.
    private func characterisationBackward(_ lesions: [LesionTarget], features: [Tensor], gradients: inout [String: Tensor],
                                          featureGradients: inout [Tensor]) -> Float {
        let weight1 = weights["characterisation.fc1.weight"], weight2 = weights["characterisation.fc2.weight"]
        var gradient1 = Tensor(shape: weight1.shape), bias1 = Tensor(shape: [weight1.shape[0]])
        var gradient2 = Tensor(shape: weight2.shape), bias2 = Tensor(shape: [weight2.shape[0]])
        defer {
            gradients["characterisation.fc1.weight"] = gradient1
            gradients["characterisation.fc1.bias"] = bias1
            gradients["characterisation.fc2.weight"] = gradient2
            gradients["characterisation.fc2.bias"] = bias2
        }
        guard !lesions.isEmpty else { return 0 }
        let level0 = features[0], level1 = features[1]
        let size = Array(level0.shape[1...3])
        let voxels0 = size.reduce(1, *), voxels1 = voxels0 / 8
        let scale = 1 / Float(lesions.count)
        var total: Float = 0

        for lesion in lesions {
            var mask0 = [Bool](repeating: false, count: voxels0)
            for index in lesion.voxels { mask0[index] = true }
            let mask1 = halvedMask(mask0, extent: size)
            let pooled = Concatenation.forward([
                MaskedMeanPooling.forward(level0.reshaped([1, voxels0, level0.shape[4]]), mask: mask0),
                MaskedMeanPooling.forward(level1.reshaped([1, voxels1, level1.shape[4]]), mask: mask1),
            ])
            let hidden = Linear.forward(input: pooled, weight: weight1, bias: weights["characterisation.fc1.bias"])
            let activated = GELU.forward(hidden)
            let logits = Linear.forward(input: activated, weight: weight2, bias: weights["characterisation.fc2.bias"])
            let (loss, probabilities) = CrossEntropyLoss.forward(logits: logits, labels: [UInt8(lesion.classIndex)])
            total += loss * scale

            var logitsGradient = CrossEntropyLoss.backward(probabilities: probabilities, labels: [UInt8(lesion.classIndex)])
            for index in logitsGradient.scalars.indices { logitsGradient.scalars[index] *= scale }
            let second = Linear.backward(outputGradient: logitsGradient, input: activated, weight: weight2)
            gradient2.add(second.weight)
            bias2.add(second.bias)
            let first = Linear.backward(outputGradient: GELU.backward(outputGradient: second.input, input: hidden), input: pooled, weight: weight1)
            gradient1.add(first.weight)
            bias1.add(first.bias)
            let parts = Concatenation.backward(outputGradient: first.input, widths: [level0.shape[4], level1.shape[4]])
            featureGradients[0].add(MaskedMeanPooling.backward(outputGradient: parts[0], mask: mask0, tokens: voxels0).reshaped(level0.shape))
            featureGradients[1].add(MaskedMeanPooling.backward(outputGradient: parts[1], mask: mask1, tokens: voxels1).reshaped(level1.shape))
        }
        return total
    }

    // MARK: Encoder stage

    struct ResidualCache {
        let input: Tensor
        let conv1: Tensor
        let norm1: InstanceNorm.Statistics
        let normalised1: Tensor
        let activated1: Tensor
        let conv2: Tensor
        let norm2: InstanceNorm.Statistics
        let sum: Tensor
        let output: Tensor
    }

    func residualForward(_ input: Tensor, level: Int) -> ResidualCache {
        let prefix = "encoder.\(level)"
        let stride = level == 0 ? 1 : 2
        let conv1 = Convolution3D.forward(input: input, weight: weights["\(prefix).conv1.weight"], bias: weights["\(prefix).conv1.bias"],
                                          geometry: ConvolutionGeometry(stride: stride, padding: 1))
        let (normalised1, norm1) = InstanceNorm.forward(conv1, scale: weights["\(prefix).norm1.scale"], shift: weights["\(prefix).norm1.shift"])
        let activated1 = LeakyReLU.forward(normalised1)
        let conv2 = Convolution3D.forward(input: activated1, weight: weights["\(prefix).conv2.weight"], bias: weights["\(prefix).conv2.bias"],
                                          geometry: ConvolutionGeometry(stride: 1, padding: 1))
        let (normalised2, norm2) = InstanceNorm.forward(conv2, scale: weights["\(prefix).norm2.scale"], shift: weights["\(prefix).norm2.shift"])
        let skip = Convolution3D.forward(input: input, weight: weights["\(prefix).skip.weight"], bias: weights["\(prefix).skip.bias"],
                                         geometry: ConvolutionGeometry(stride: stride, padding: 0))
        var sum = normalised2
        sum.add(skip)
        return ResidualCache(input: input, conv1: conv1, norm1: norm1, normalised1: normalised1, activated1: activated1,
                             conv2: conv2, norm2: norm2, sum: sum, output: LeakyReLU.forward(sum))
    }

    func residualBackward(_ outputGradient: Tensor, cache: ResidualCache, level: Int) -> (Tensor, [String: Tensor]) {
        let prefix = "encoder.\(level)"
        let stride = level == 0 ? 1 : 2
        var gradients: [String: Tensor] = [:]
        let sumGradient = LeakyReLU.backward(outputGradient: outputGradient, input: cache.sum)

        let norm2 = InstanceNorm.backward(outputGradient: sumGradient, input: cache.conv2, scale: weights["\(prefix).norm2.scale"], statistics: cache.norm2)
        let conv2 = Convolution3D.backward(outputGradient: norm2.input, input: cache.activated1, weight: weights["\(prefix).conv2.weight"],
                                           geometry: ConvolutionGeometry(stride: 1, padding: 1))
        let activation = LeakyReLU.backward(outputGradient: conv2.input, input: cache.normalised1)
        let norm1 = InstanceNorm.backward(outputGradient: activation, input: cache.conv1, scale: weights["\(prefix).norm1.scale"], statistics: cache.norm1)
        let conv1 = Convolution3D.backward(outputGradient: norm1.input, input: cache.input, weight: weights["\(prefix).conv1.weight"],
                                           geometry: ConvolutionGeometry(stride: stride, padding: 1))
        let skip = Convolution3D.backward(outputGradient: sumGradient, input: cache.input, weight: weights["\(prefix).skip.weight"],
                                          geometry: ConvolutionGeometry(stride: stride, padding: 0))

        gradients["\(prefix).norm2.scale"] = norm2.scale
        gradients["\(prefix).norm2.shift"] = norm2.shift
        gradients["\(prefix).conv2.weight"] = conv2.weight
        gradients["\(prefix).conv2.bias"] = conv2.bias
        gradients["\(prefix).norm1.scale"] = norm1.scale
        gradients["\(prefix).norm1.shift"] = norm1.shift
        gradients["\(prefix).conv1.weight"] = conv1.weight
        gradients["\(prefix).conv1.bias"] = conv1.bias
        gradients["\(prefix).skip.weight"] = skip.weight
        gradients["\(prefix).skip.bias"] = skip.bias
        var inputGradient = conv1.input
        inputGradient.add(skip.input)
        return (inputGradient, gradients)
    }

    // MARK: Decoder block

    struct BlockCache {
        let input: Tensor
        let previousShape: [Int]
        let conv1: Tensor
        let norm1: InstanceNorm.Statistics
        let normalised1: Tensor
        let activated1: Tensor
        let conv2: Tensor
        let norm2: InstanceNorm.Statistics
        let normalised2: Tensor
        let output: Tensor
    }

    func blockForward(_ input: Tensor, prefix: String, previousShape: [Int]) -> BlockCache {
        let geometry = ConvolutionGeometry(stride: 1, padding: 1)
        let conv1 = Convolution3D.forward(input: input, weight: weights["\(prefix).conv1.weight"], bias: weights["\(prefix).conv1.bias"], geometry: geometry)
        let (normalised1, norm1) = InstanceNorm.forward(conv1, scale: weights["\(prefix).norm1.scale"], shift: weights["\(prefix).norm1.shift"])
        let activated1 = LeakyReLU.forward(normalised1)
        let conv2 = Convolution3D.forward(input: activated1, weight: weights["\(prefix).conv2.weight"], bias: weights["\(prefix).conv2.bias"], geometry: geometry)
        let (normalised2, norm2) = InstanceNorm.forward(conv2, scale: weights["\(prefix).norm2.scale"], shift: weights["\(prefix).norm2.shift"])
        return BlockCache(input: input, previousShape: previousShape, conv1: conv1, norm1: norm1, normalised1: normalised1,
                          activated1: activated1, conv2: conv2, norm2: norm2, normalised2: normalised2, output: LeakyReLU.forward(normalised2))
    }

    func blockBackward(_ outputGradient: Tensor, cache: BlockCache, prefix: String) -> (Tensor, [String: Tensor]) {
        let geometry = ConvolutionGeometry(stride: 1, padding: 1)
        let activation2 = LeakyReLU.backward(outputGradient: outputGradient, input: cache.normalised2)
        let norm2 = InstanceNorm.backward(outputGradient: activation2, input: cache.conv2, scale: weights["\(prefix).norm2.scale"], statistics: cache.norm2)
        let conv2 = Convolution3D.backward(outputGradient: norm2.input, input: cache.activated1, weight: weights["\(prefix).conv2.weight"], geometry: geometry)
        let activation1 = LeakyReLU.backward(outputGradient: conv2.input, input: cache.normalised1)
        let norm1 = InstanceNorm.backward(outputGradient: activation1, input: cache.conv1, scale: weights["\(prefix).norm1.scale"], statistics: cache.norm1)
        let conv1 = Convolution3D.backward(outputGradient: norm1.input, input: cache.input, weight: weights["\(prefix).conv1.weight"], geometry: geometry)
        let gradients: [String: Tensor] = [
            "\(prefix).norm2.scale": norm2.scale, "\(prefix).norm2.shift": norm2.shift,
            "\(prefix).conv2.weight": conv2.weight, "\(prefix).conv2.bias": conv2.bias,
            "\(prefix).norm1.scale": norm1.scale, "\(prefix).norm1.shift": norm1.shift,
            "\(prefix).conv1.weight": conv1.weight, "\(prefix).conv1.bias": conv1.bias,
        ]
        return (conv1.input, gradients)
    }

    private func temporalGradientNames(_ parameters: TemporalEncoder.Parameters, level: Int) -> [String: Tensor] {
        let prefix = "temporal.\(level)"
        return [
            "\(prefix).phase_embedding": parameters.phaseEmbedding,
            "\(prefix).attention_norm.scale": parameters.attentionNormScale, "\(prefix).attention_norm.shift": parameters.attentionNormShift,
            "\(prefix).attention.in_proj.weight": parameters.attention.inputProjectionWeight,
            "\(prefix).attention.in_proj.bias": parameters.attention.inputProjectionBias,
            "\(prefix).attention.out_proj.weight": parameters.attention.outputProjectionWeight,
            "\(prefix).attention.out_proj.bias": parameters.attention.outputProjectionBias,
            "\(prefix).mlp_norm.scale": parameters.mlpNormScale, "\(prefix).mlp_norm.shift": parameters.mlpNormShift,
            "\(prefix).mlp.fc1.weight": parameters.mlpInputWeight, "\(prefix).mlp.fc1.bias": parameters.mlpInputBias,
            "\(prefix).mlp.fc2.weight": parameters.mlpOutputWeight, "\(prefix).mlp.fc2.bias": parameters.mlpOutputBias,
            "\(prefix).pooling_query": parameters.poolingQuery,
        ]
    }
}

/// Training with AdamW over every named parameter.
public struct SegmentationTrainer: Sendable {
    public private(set) var model: STDNetModel
    public var optimiser: AdamW
    /// The trained parameters in the optimiser's order.
    public let parameterNames: [String]

    /// The optional terms of the loss.
    public var lossSettings: SegmentationLossSettings

    public init(model: STDNetModel, optimiser: AdamW = AdamW(), lossSettings: SegmentationLossSettings = SegmentationLossSettings()) {
        self.model = model
        self.optimiser = optimiser
        self.lossSettings = lossSettings
        parameterNames = model.weights.tensors.keys.sorted()
    }

    /// Runs one optimiser step on one window and returns its loss before the step.
    public mutating func step(_ phases: [Tensor?], labels: [UInt8], lesions: [LesionTarget] = []) throws -> Float {
        try step([TrainingWindow(phases: phases, labels: labels, lesions: lesions)])
    }

    /// Runs one optimiser step on the mean gradient of a batch of windows, computed one window
    /// at a time, and returns their mean loss before the step.
    public mutating func step(_ windows: [TrainingWindow]) throws -> Float {
        precondition(!windows.isEmpty, "a training step needs at least one window")
        var meanGradients = parameterNames.map { Tensor(shape: model.weights[$0].shape) }
        var totalLoss: Float = 0
        for window in windows {
            let result = model.segmentationGradients(window.phases, labels: window.labels, lesions: window.lesions,
                                                     settings: lossSettings)
            totalLoss += result.loss
            for (index, name) in parameterNames.enumerated() {
                if let gradient = result.gradients[name] { meanGradients[index].add(gradient) }
            }
        }
        let share = 1 / Float(windows.count)
        for index in meanGradients.indices {
            meanGradients[index].scalars.withUnsafeMutableBufferPointer { values in
                for i in values.indices { values[i] *= share }
            }
        }
        var parameters = parameterNames.map { model.weights[$0] }
        optimiser.update(&parameters, gradients: meanGradients)
        var tensors = model.weights.tensors
        for (name, tensor) in zip(parameterNames, parameters) { tensors[name] = tensor }
        model = try STDNetModel(configuration: model.configuration, weights: ModelWeights(tensors: tensors))
        return totalLoss * share
    }
}

/// Returns the present slots of a (T, ...) gradient as a (present, ...) batch.
func gatherSlots(_ slots: Tensor, present: [Bool]) -> Tensor {
    let perPhase = slots.count / slots.shape[0]
    var scalars: [Float] = []
    for (slot, isPresent) in present.enumerated() where isPresent {
        scalars += slots.scalars[slot * perPhase..<(slot + 1) * perPhase]
    }
    return Tensor(shape: [present.filter { $0 }.count] + Array(slots.shape.dropFirst()), scalars: scalars)
}
