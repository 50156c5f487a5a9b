// The label-map clean-up on hand-made maps whose regions are known.
@testable import STDNet
import Testing

@Suite struct PostProcessingTests {
    /// Returns a 6 x 6 x 6 map in (d, h, w) order. It has a 3 x 3 x 3 liver with a lesion voxel
    /// at its centre and a lesion voxel that touches the liver only at a corner. A two-voxel
    /// island of liver and lesion lies far from both.
    static func labels() -> [UInt8] {
        var labels = [UInt8](repeating: 0, count: 216)
        func index(_ d: Int, _ h: Int, _ w: Int) -> Int { (d * 6 + h) * 6 + w }
        for d in 0..<3 { for h in 0..<3 { for w in 0..<3 { labels[index(d, h, w)] = 1 } } }
        labels[index(1, 1, 1)] = 2
        labels[index(3, 3, 3)] = 2
        labels[index(5, 0, 5)] = 1
        labels[index(5, 1, 5)] = 2
        return labels
    }

    @Test func keepsTheLargestRegionAndWhatTouchesItAtACorner() {
        var labels = Self.labels()
        keepLargestForegroundRegion(&labels, extent: [6, 6, 6])
        var expected = Self.labels()
        expected[(5 * 6 + 0) * 6 + 5] = 0
        expected[(5 * 6 + 1) * 6 + 5] = 0
        #expect(labels == expected)
        #expect(labels.filter { $0 != 0 }.count == 28)
    }

    @Test func leavesAMapWithOneRegionAlone() {
        var labels = [UInt8](repeating: 0, count: 8 * 4 * 2)
        for voxel in 10..<30 { labels[voxel] = voxel % 3 == 0 ? 2 : 1 }
        let before = labels
        keepLargestForegroundRegion(&labels, extent: [8, 4, 2])
        #expect(labels == before)
    }

    /// A row of 8 voxels along W: a lesion voxel at 2 whose neighbours 1 and 3-4 reach the grow
    /// threshold, a gap at 5, and voxels 6-7 that reach it but touch no lesion voxel.
    @Test func growLesionsTakesInConnectedVoxelsOnly() {
        let probabilities: [Float] = [0.1, 0.6, 0.97, 0.5, 0.7, 0.2, 0.8, 0.9]
        var labels: [UInt8] = [1, 1, 2, 1, 1, 1, 1, 1]
        growLesions(&labels, lesionProbabilities: { probabilities[$0] }, threshold: 0.5, extent: [1, 1, 8])
        #expect(labels == [1, 2, 2, 2, 2, 1, 1, 1])
    }

    @Test func labelWithoutThresholdIsMostProbableClass() {
        #expect(label(probabilities: [0.2, 0.5, 0.3], lesionThreshold: nil) == 1)
        #expect(label(probabilities: [0.2, 0.3, 0.5], lesionThreshold: nil) == 2)
        #expect(label(probabilities: [0.6, 0.1, 0.3], lesionThreshold: nil) == 0)
    }

    @Test func labelWithThresholdCases() {
        // Lesion is the most probable class but below 0.7: liver and lesion (0.85) outweigh background.
        #expect(label(probabilities: [0.15, 0.3, 0.55], lesionThreshold: 0.7) == 1)
        // At the threshold the voxel is lesion.
        #expect(label(probabilities: [0.1, 0.2, 0.7], lesionThreshold: 0.7) == 2)
        // A lesion probability over the threshold wins even against a likelier background.
        #expect(label(probabilities: [0.5, 0.0, 0.5], lesionThreshold: 0.4) == 2)
        // Below it, background (0.55) outweighs liver and lesion together (0.45).
        #expect(label(probabilities: [0.55, 0.1, 0.35], lesionThreshold: 0.4) == 0)
    }
}
