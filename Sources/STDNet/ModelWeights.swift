// The network's named parameters: the names and shapes each configuration needs, random
// initialisation, and checks of loaded weights against them.
import NeuralEngine

/// Named parameter tensors of one model. Names follow the layers:
///
/// - `encoder.L.{conv1,conv2,skip}.{weight,bias}`, `encoder.L.{norm1,norm2}.{scale,shift}`:
///   residual stage L of the encoder, convolution weights in PyTorch's (Cout, Cin, kD, kH, kW).
/// - `temporal.L.*` (STD-Net only): the temporal module at level L: `phase_embedding` (T, C),
///   `attention_norm` and `mlp_norm` scale and shift, `attention.in_proj` (3C, C) and
///   `attention.out_proj` (C, C) weights and biases, `mlp.fc1` (rC, C) and `mlp.fc2` (C, rC),
///   and `pooling_query` (C).
/// - `decoder.L.{conv1,conv2}.{weight,bias}`, `decoder.L.{norm1,norm2}.{scale,shift}`: the
///   decoder block producing level L.
/// - `head.{weight,bias}`: the 1x1x1 segmentation convolution.
/// - `characterisation.{fc1,fc2}.{weight,bias}`: the lesion class MLP.
public struct ModelWeights: Sendable {
    public var tensors: [String: Tensor]

    public init(tensors: [String: Tensor]) { self.tensors = tensors }

    public subscript(name: String) -> Tensor {
        guard let tensor = tensors[name] else { preconditionFailure("weights have no tensor '\(name)'") }
        return tensor
    }

    /// The number of scalar parameters.
    public var parameterCount: Int { tensors.values.reduce(0) { $0 + $1.count } }

    /// Checks the tensors against what `configuration` needs; a missing, extra or misshapen
    /// tensor is reported by name and shape.
    public func validate(against configuration: ModelConfiguration) throws {
        let expected = expectedShapes(configuration)
        var problems: [String] = []
        for name in expected.keys.sorted() {
            guard let tensor = tensors[name] else {
                problems.append("missing '\(name)' of shape \(expected[name]!)")
                continue
            }
            if tensor.shape != expected[name]! { problems.append("'\(name)' has shape \(tensor.shape), expected \(expected[name]!)") }
        }
        for name in tensors.keys.sorted() where expected[name] == nil { problems.append("unexpected '\(name)' of shape \(tensors[name]!.shape)") }
        guard problems.isEmpty else {
            throw SafetensorsError(description: "weights do not match the \(configuration.architecture.rawValue) configuration: " + problems.prefix(10).joined(separator: "; "))
        }
    }

    /// Draws weights with PyTorch's default initialisation: weights and biases uniform in
    /// ±1/sqrt(fan-in), norm scales 1 and shifts 0, small random embeddings and queries.
    public static func random(_ configuration: ModelConfiguration, seed: UInt64) -> ModelWeights {
        var generator = SplitMix64(seed: seed)
        var tensors: [String: Tensor] = [:]
        for (name, shape) in expectedShapes(configuration).sorted(by: { $0.key < $1.key }) {
            if name.hasSuffix(".scale") {
                tensors[name] = Tensor(shape: shape, repeating: 1)
            } else if name.hasSuffix(".shift") {
                tensors[name] = Tensor(shape: shape)
            } else if name.hasSuffix("phase_embedding") || name.hasSuffix("pooling_query") {
                tensors[name] = .randomNormal(shape: shape, standardDeviation: 0.02, using: &generator)
            } else {
                let weightName = name.hasSuffix(".bias") ? String(name.dropLast(5)) + ".weight" : name
                let weightShape = expectedShapes(configuration)[weightName] ?? shape
                let fanIn = weightShape.dropFirst().reduce(1, *)
                let bound = 1 / Float(max(fanIn, 1)).squareRoot()
                tensors[name] = .randomUniform(shape: shape, in: -bound...bound, using: &generator)
            }
        }
        return ModelWeights(tensors: tensors)
    }
}

/// Returns the name and shape of every tensor a configuration needs.
public func expectedShapes(_ configuration: ModelConfiguration) -> [String: [Int]] {
    let channels = configuration.channels
    let slots = configuration.phaseSlots
    var shapes: [String: [Int]] = [:]

    for (level, output) in channels.enumerated() {
        let input = level == 0 ? (configuration.architecture == .earlyFusion ? slots : 1) : channels[level - 1]
        let prefix = "encoder.\(level)"
        shapes["\(prefix).conv1.weight"] = [output, input, 3, 3, 3]
        shapes["\(prefix).conv2.weight"] = [output, output, 3, 3, 3]
        shapes["\(prefix).skip.weight"] = [output, input, 1, 1, 1]
        for layer in ["conv1", "conv2", "skip"] { shapes["\(prefix).\(layer).bias"] = [output] }
        for norm in ["norm1", "norm2"] {
            shapes["\(prefix).\(norm).scale"] = [output]
            shapes["\(prefix).\(norm).shift"] = [output]
        }
    }

    if configuration.architecture == .stdNet {
        for (level, width) in channels.enumerated() {
            let prefix = "temporal.\(level)"
            let hidden = width * configuration.mlpRatio
            shapes["\(prefix).phase_embedding"] = [slots, width]
            for norm in ["attention_norm", "mlp_norm"] {
                shapes["\(prefix).\(norm).scale"] = [width]
                shapes["\(prefix).\(norm).shift"] = [width]
            }
            shapes["\(prefix).attention.in_proj.weight"] = [3 * width, width]
            shapes["\(prefix).attention.in_proj.bias"] = [3 * width]
            shapes["\(prefix).attention.out_proj.weight"] = [width, width]
            shapes["\(prefix).attention.out_proj.bias"] = [width]
            shapes["\(prefix).mlp.fc1.weight"] = [hidden, width]
            shapes["\(prefix).mlp.fc1.bias"] = [hidden]
            shapes["\(prefix).mlp.fc2.weight"] = [width, hidden]
            shapes["\(prefix).mlp.fc2.bias"] = [width]
            shapes["\(prefix).pooling_query"] = [width]
        }
    }

    for level in stride(from: channels.count - 2, through: 0, by: -1) {
        let prefix = "decoder.\(level)"
        let output = channels[level]
        shapes["\(prefix).conv1.weight"] = [output, channels[level + 1] + output, 3, 3, 3]
        shapes["\(prefix).conv2.weight"] = [output, output, 3, 3, 3]
        shapes["\(prefix).conv1.bias"] = [output]
        shapes["\(prefix).conv2.bias"] = [output]
        for norm in ["norm1", "norm2"] {
            shapes["\(prefix).\(norm).scale"] = [output]
            shapes["\(prefix).\(norm).shift"] = [output]
        }
    }
    shapes["head.weight"] = [configuration.segmentationClasses, channels[0], 1, 1, 1]
    shapes["head.bias"] = [configuration.segmentationClasses]
    let pooled = channels[0] + channels[1]
    shapes["characterisation.fc1.weight"] = [configuration.characterisationHidden, pooled]
    shapes["characterisation.fc1.bias"] = [configuration.characterisationHidden]
    shapes["characterisation.fc2.weight"] = [configuration.lesionClasses.count, configuration.characterisationHidden]
    shapes["characterisation.fc2.bias"] = [configuration.lesionClasses.count]
    return shapes
}

/// Returns the early-fusion baseline whose parameter count is closest to `configuration`'s STD-Net:
/// the same depth with every stage's channels scaled by one factor.
public func matchedEarlyFusion(_ configuration: ModelConfiguration) -> ModelConfiguration {
    let target = expectedShapes(configuration).values.reduce(0) { $0 + $1.reduce(1, *) }
    var best = configuration
    var bestGap = Int.max
    for percent in stride(from: 100, through: 200, by: 2) {
        var candidate = configuration
        candidate.architecture = .earlyFusion
        candidate.channels = configuration.channels.map { max(4, Int((Double($0) * Double(percent) / 100).rounded())) }
        let count = expectedShapes(candidate).values.reduce(0) { $0 + $1.reduce(1, *) }
        if abs(count - target) < bestGap {
            bestGap = abs(count - target)
            best = candidate
        }
    }
    return best
}
