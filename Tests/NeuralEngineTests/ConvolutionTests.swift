import NeuralEngine
import Testing

@Suite struct ConvolutionTests {
    var generator = SplitMix64(seed: 3)
    var check = GradientCheck()

    /// (input shape, output channels, kernel, stride, padding) cases covering stride 1 and 2,
    /// odd sizes where stride 2 leaves a remainder, a 1x1x1 kernel, and channel counts that are
    /// and are not multiples of oneDNN's block of 16.
    static let cases: [([Int], Int, Int, Int, Int)] = [
        ([1, 4, 5, 6, 3], 2, 3, 1, 1),
        ([2, 5, 4, 7, 2], 3, 3, 2, 1),
        ([1, 3, 3, 3, 4], 5, 1, 1, 0),
        ([1, 6, 6, 6, 16], 16, 3, 1, 1),
        ([1, 7, 6, 5, 16], 32, 3, 2, 1),
        ([1, 4, 4, 4, 3], 2, 2, 2, 0),
    ]

    @Test(arguments: 0..<cases.count)
    mutating func forwardMatchesReference(caseIndex: Int) {
        let (inputShape, outputChannels, kernel, stride, padding) = Self.cases[caseIndex]
        let geometry = ConvolutionGeometry(stride: stride, padding: padding)
        let input = Tensor.randomNormal(shape: inputShape, using: &generator)
        let weight = Tensor.randomNormal(shape: [outputChannels, inputShape[4], kernel, kernel, kernel], using: &generator)
        let bias = Tensor.randomNormal(shape: [outputChannels], using: &generator)
        expectClose(
            Convolution3D.forward(input: input, weight: weight, bias: bias, geometry: geometry),
            Convolution3D.referenceForward(input: input, weight: weight, bias: bias, geometry: geometry),
            absolute: 1e-4, relative: 1e-4)
    }

    @Test(arguments: [0, 1, 2, 5])
    mutating func gradients(caseIndex: Int) {
        let (inputShape, outputChannels, kernel, stride, padding) = Self.cases[caseIndex]
        let geometry = ConvolutionGeometry(stride: stride, padding: padding)
        let input = Tensor.randomNormal(shape: inputShape, using: &generator)
        let weight = Tensor.randomNormal(shape: [outputChannels, inputShape[4], kernel, kernel, kernel], using: &generator)
        let bias = Tensor.randomNormal(shape: [outputChannels], using: &generator)
        let output = Convolution3D.forward(input: input, weight: weight, bias: bias, geometry: geometry)
        let probe = check.probe(shape: output.shape)
        let gradients = Convolution3D.backward(outputGradient: probe, input: input, weight: weight, geometry: geometry)

        GradientCheck.expectMatches(analytic: gradients.input, input: input, probe: probe) {
            Convolution3D.forward(input: $0, weight: weight, bias: bias, geometry: geometry)
        }
        GradientCheck.expectMatches(analytic: gradients.weight, input: weight, probe: probe) {
            Convolution3D.forward(input: input, weight: $0, bias: bias, geometry: geometry)
        }
        GradientCheck.expectMatches(analytic: gradients.bias, input: bias, probe: probe) {
            Convolution3D.forward(input: input, weight: weight, bias: $0, geometry: geometry)
        }
    }

    @Test mutating func forwardIntoReusedOutput() {
        let geometry = ConvolutionGeometry(stride: 1, padding: 1)
        let weight = Tensor.randomNormal(shape: [4, 3, 3, 3, 3], using: &generator)
        let bias = Tensor.randomNormal(shape: [4], using: &generator)
        var output = Tensor(shape: [1])
        for _ in 0..<2 {
            let input = Tensor.randomNormal(shape: [1, 4, 4, 4, 3], using: &generator)
            Convolution3D.forward(input: input, weight: weight, bias: bias, geometry: geometry, into: &output)
            expectClose(output, Convolution3D.referenceForward(input: input, weight: weight, bias: bias, geometry: geometry))
        }
    }

    @Test func outputExtents() {
        let geometry = ConvolutionGeometry(stride: 2, padding: 1)
        #expect(geometry.outputExtent(input: 64, kernel: 3) == 32)
        #expect(geometry.outputExtent(input: 7, kernel: 3) == 4)
    }
}
