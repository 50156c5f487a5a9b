// Compares both architectures with the PyTorch reference (Benchmarks/pytorch_reference.py) on a
// small random model, its inputs and the reference's outputs, all committed under
// Fixtures/pytorch so that the tests need no PyTorch.
import Foundation
import NeuralEngine
import STDNet
import Testing

@Suite struct PyTorchReferenceTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/pytorch")

    /// Phase slots present in each fixture case, in slot order (NC, AP, PV, DP).
    static let cases = ["all-phases": [true, true, true, true], "no-arterial": [true, false, true, true]]

    /// The tolerance on ``relativeError(_:_:)``. The reference ran in float64, so the error is
    /// the engine's own float32 rounding, about 1e-6 here. The tolerance is ten times tighter
    /// than the 1e-4 the engine must meet, because GELU in its tanh form instead of the erf
    /// form moves STD-Net's logits by only 5e-5.
    static let tolerance = 1e-5

    /// Returns max |a - b| / max |b| over all elements, with b the reference: the largest
    /// difference relative to the reference's largest magnitude. An error relative to each
    /// element would be undefined where a logit crosses zero, and this measure still catches a
    /// single wrong element. NaN in either input gives NaN, which fails every comparison.
    static func relativeError(_ produced: [Float], _ expected: [Float]) -> Double {
        precondition(produced.count == expected.count, "\(produced.count) values against \(expected.count)")
        var largestDifference = 0.0
        var largestMagnitude = 0.0
        for (a, b) in zip(produced, expected) {
            let difference = abs(Double(a) - Double(b))
            largestDifference = difference.isNaN ? .nan : max(largestDifference, difference)
            largestMagnitude = max(largestMagnitude, abs(Double(b)))
        }
        return largestDifference / largestMagnitude
    }

    static func loadCases() throws -> [String: Tensor] {
        try Safetensors.read(from: folder.appendingPathComponent("cases.safetensors"))
    }

    @Test(arguments: ["std-net", "early-fusion"], ["all-phases", "no-arterial"])
    func forwardMatchesPyTorch(architecture: String, caseName: String) throws {
        let model = try STDNetModel.load(from: Self.folder.appendingPathComponent(architecture))
        let fixtures = try Self.loadCases()
        let phases = try #require(fixtures["phases"])
        let extent = Array(phases.shape[1...])
        let voxels = extent.reduce(1, *)
        let present = try #require(Self.cases[caseName])
        let inputs: [Tensor?] = present.enumerated().map { slot, isPresent in
            isPresent ? Tensor(shape: [1] + extent + [1], scalars: Array(phases.scalars[(slot * voxels)..<((slot + 1) * voxels)])) : nil
        }

        let output = model.forward(inputs)
        let expectedLogits = try #require(fixtures["\(architecture).\(caseName).logits"])
        #expect(output.logits.shape == expectedLogits.shape)
        let logitsError = Self.relativeError(output.logits.scalars, expectedLogits.scalars)
        #expect(logitsError < Self.tolerance, "logits: max |a-b| / max |b| = \(logitsError)")

        let mask = try #require(fixtures["lesion_mask"]).scalars.map { $0 > 0.5 }
        let probabilities = model.characterise(output.fusedFeatures, mask: mask).map { Float($0) }
        let expectedProbabilities = try #require(fixtures["\(architecture).\(caseName).probabilities"])
        let probabilitiesError = Self.relativeError(probabilities, expectedProbabilities.scalars)
        #expect(probabilitiesError < Self.tolerance, "probabilities \(probabilities) against \(expectedProbabilities.scalars): error \(probabilitiesError)")
    }

    @Test func relativeErrorCatchesOneElement() {
        #expect(Self.relativeError([1, -2, 4], [1, -2, 4]) == 0)
        #expect(Self.relativeError([1, -2, 4.5], [1, -2, 4]) == 0.125)
        #expect(!(Self.relativeError([.nan, -2, 4], [1, -2, 4]) < Self.tolerance))
    }
}
