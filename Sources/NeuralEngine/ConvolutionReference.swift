/// The plain-Swift 3D convolution that the oneDNN version is tested against. Same shapes and
/// semantics as `Convolution3D.forward`; slow, and meant only for small tests.
extension Convolution3D {
    /// Computes the convolution with direct loops.
    public static func referenceForward(
        input: Tensor, weight: Tensor, bias: Tensor, geometry: ConvolutionGeometry
    ) -> Tensor {
        let problem = Problem(input: input.shape, weight: weight.shape, geometry: geometry)
        let (depth, height, width) = (problem.inputSpatial[0], problem.inputSpatial[1], problem.inputSpatial[2])
        let (kernelDepth, kernelHeight, kernelWidth) = (problem.kernel[0], problem.kernel[1], problem.kernel[2])
        let inputChannels = problem.inputChannels
        let outputChannels = problem.outputChannels
        var output = Tensor(shape: problem.outputShape)
        var outputIndex = 0
        for n in 0..<problem.batch {
            for od in 0..<problem.outputSpatial[0] {
                for oh in 0..<problem.outputSpatial[1] {
                    for ow in 0..<problem.outputSpatial[2] {
                        for o in 0..<outputChannels {
                            var sum = bias.scalars[o]
                            for kd in 0..<kernelDepth {
                                let d = od * geometry.stride - geometry.padding + kd
                                guard d >= 0 && d < depth else { continue }
                                for kh in 0..<kernelHeight {
                                    let h = oh * geometry.stride - geometry.padding + kh
                                    guard h >= 0 && h < height else { continue }
                                    for kw in 0..<kernelWidth {
                                        let w = ow * geometry.stride - geometry.padding + kw
                                        guard w >= 0 && w < width else { continue }
                                        let inputBase = (((n * depth + d) * height + h) * width + w) * inputChannels
                                        for i in 0..<inputChannels {
                                            let weightIndex = (((o * inputChannels + i) * kernelDepth + kd) * kernelHeight + kh) * kernelWidth + kw
                                            sum += input.scalars[inputBase + i] * weight.scalars[weightIndex]
                                        }
                                    }
                                }
                            }
                            output.scalars[outputIndex] = sum
                            outputIndex += 1
                        }
                    }
                }
            }
        }
        return output
    }
}
