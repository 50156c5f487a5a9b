import Foundation

/// Leaky rectified linear unit, y = x for x > 0 and y = slope · x otherwise. Any shape.
public enum LeakyReLU {
    /// The negative slope PyTorch's `nn.LeakyReLU` uses by default.
    public static let defaultSlope: Float = 0.01

    /// Applies the activation elementwise.
    public static func forward(_ input: Tensor, slope: Float = defaultSlope) -> Tensor {
        var output = input
        output.scalars.withUnsafeMutableBufferPointer { y in
            for i in y.indices where y[i] <= 0 {
                y[i] *= slope
            }
        }
        return output
    }

    /// Computes dL/dx from dL/dy and the forward input.
    public static func backward(outputGradient: Tensor, input: Tensor, slope: Float = defaultSlope) -> Tensor {
        precondition(outputGradient.shape == input.shape, "gradient shape \(outputGradient.shape) differs from input shape \(input.shape)")
        var inputGradient = outputGradient
        inputGradient.scalars.withUnsafeMutableBufferPointer { dx in
            input.scalars.withUnsafeBufferPointer { x in
                for i in dx.indices where x[i] <= 0 {
                    dx[i] *= slope
                }
            }
        }
        return inputGradient
    }
}

/// Gaussian error linear unit with the exact erf form, y = x · Φ(x), as PyTorch's `nn.GELU()`
/// computes by default. Any shape.
public enum GELU {
    /// Applies the activation elementwise.
    public static func forward(_ input: Tensor) -> Tensor {
        var output = input
        output.scalars.withUnsafeMutableBufferPointer { y in
            for i in y.indices {
                y[i] = value(y[i])
            }
        }
        return output
    }

    /// Computes dL/dx from dL/dy and the forward input.
    public static func backward(outputGradient: Tensor, input: Tensor) -> Tensor {
        precondition(outputGradient.shape == input.shape, "gradient shape \(outputGradient.shape) differs from input shape \(input.shape)")
        var inputGradient = outputGradient
        inputGradient.scalars.withUnsafeMutableBufferPointer { dx in
            input.scalars.withUnsafeBufferPointer { x in
                for i in dx.indices {
                    dx[i] *= derivative(x[i])
                }
            }
        }
        return inputGradient
    }

    @inline(__always)
    static func value(_ x: Float) -> Float {
        0.5 * x * (1 + erff(x * Float(0.5).squareRoot()))
    }

    /// dy/dx = Φ(x) + x φ(x).
    @inline(__always)
    static func derivative(_ x: Float) -> Float {
        let cdf = 0.5 * (1 + erff(x * Float(0.5).squareRoot()))
        let pdf = expf(-0.5 * x * x) / (2 * Float.pi).squareRoot()
        return cdf + x * pdf
    }
}
