/// The AdamW optimiser (Loshchilov and Hutter, "Decoupled Weight Decay Regularization"), with
/// the update rule and defaults of PyTorch's `torch.optim.AdamW`:
///
///     θ ← θ - lr · λ · θ
///     m ← β₁ m + (1 - β₁) g,   v ← β₂ v + (1 - β₂) g²
///     θ ← θ - lr · (m / (1 - β₁ᵗ)) / (sqrt(v / (1 - β₂ᵗ)) + ε)
///
/// The optimiser keeps one pair of moment buffers per parameter tensor, matched by position in
/// the array passed to `update`, so pass the parameters in the same order every step.
public struct AdamW: Sendable {
    /// The step size lr.
    public var learningRate: Float
    /// The decay rate β₁ of the first-moment average.
    public var beta1: Float
    /// The decay rate β₂ of the second-moment average.
    public var beta2: Float
    /// The ε added to the denominator.
    public var epsilon: Float
    /// The decoupled weight decay λ.
    public var weightDecay: Float
    /// The number of updates applied so far, t in the bias corrections.
    public private(set) var step = 0
    private var firstMoments: [[Float]] = []
    private var secondMoments: [[Float]] = []

    /// Creates an optimiser with PyTorch's defaults unless given other values.
    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 1e-2) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    /// The first and second moment buffers, in parameter order, for saving a checkpoint.
    public var moments: (first: [[Float]], second: [[Float]]) { (firstMoments, secondMoments) }

    /// Restores the state saved from ``moments`` and ``step``, to resume training.
    public mutating func restore(step: Int, firstMoments: [[Float]], secondMoments: [[Float]]) {
        precondition(firstMoments.count == secondMoments.count, "moment buffers differ in count")
        self.step = step
        self.firstMoments = firstMoments
        self.secondMoments = secondMoments
    }

    /// Applies one update to every parameter tensor from its gradient.
    public mutating func update(_ parameters: inout [Tensor], gradients: [Tensor]) {
        precondition(parameters.count == gradients.count, "\(parameters.count) parameters but \(gradients.count) gradients")
        if firstMoments.isEmpty {
            firstMoments = parameters.map { [Float](repeating: 0, count: $0.count) }
            secondMoments = firstMoments
        }
        precondition(firstMoments.count == parameters.count, "AdamW was set up for \(firstMoments.count) parameters, got \(parameters.count)")
        step += 1
        let firstCorrection = 1 - Float(Double(beta1).power(step))
        let secondCorrection = 1 - Float(Double(beta2).power(step))
        let (learningRate, beta1, beta2, epsilon) = (learningRate, beta1, beta2, epsilon)
        let decay = 1 - learningRate * weightDecay

        for index in parameters.indices {
            precondition(parameters[index].shape == gradients[index].shape, "parameter \(index) has shape \(parameters[index].shape), its gradient \(gradients[index].shape)")
            parameters[index].scalars.withUnsafeMutableBufferPointer { theta in
                gradients[index].scalars.withUnsafeBufferPointer { g in
                    firstMoments[index].withUnsafeMutableBufferPointer { m in
                        secondMoments[index].withUnsafeMutableBufferPointer { v in
                            for i in theta.indices {
                                m[i] = beta1 * m[i] + (1 - beta1) * g[i]
                                v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i]
                                let correctedFirst = m[i] / firstCorrection
                                let correctedSecond = v[i] / secondCorrection
                                theta[i] = theta[i] * decay - learningRate * correctedFirst / (correctedSecond.squareRoot() + epsilon)
                            }
                        }
                    }
                }
            }
        }
    }
}

private extension Double {
    func power(_ exponent: Int) -> Double {
        var result = 1.0
        for _ in 0..<exponent {
            result *= self
        }
        return result
    }
}
