// Inference over volumes of any size: overlapping windows, each weighted by a Gaussian that
// trusts its centre over its edges, summed into one probability volume. Memory holds the
// accumulators and one window at a time.
import Foundation
import Lesions
import NeuralEngine

/// Sliding-window settings.
public struct SlidingWindowOptions: Sendable {
    /// Window extent in voxels (D, H, W); each a multiple of the model's grid multiple.
    public var window: [Int]
    /// Fraction of the window that neighbouring windows share along each axis (0 ..< 1).
    public var overlap: Double

    public init(window: [Int] = [64, 128, 128], overlap: Double = 0.25) {
        self.window = window
        self.overlap = overlap
    }
}

/// The result of sliding-window inference.
public struct VolumeSegmentation: Sendable {
    /// Class probabilities, shape (D, H, W, classes).
    public let probabilities: Tensor
    /// The class of each voxel (see `label(probabilities:lesionThreshold:)`), D·H·W values in
    /// (d, h, w) order, lesions grown down to the model's `lesionGrowThreshold`, with the voxels
    /// known to be background and then foreground outside the largest connected foreground
    /// region set to background.
    public let labels: [UInt8]
    public let timings: StageTimings
    public let windowCount: Int
}

extension STDNetModel {
    /// Segments whole volumes.
    ///
    /// - parameter phases: one volume per phase slot, each (D, H, W) flattened in (d, h, w)
    ///   order with `extent` = [D, H, W]; nil for a missing phase. Volumes smaller than the
    ///   window are padded with zeros (the normalised background) for the pass.
    /// - parameter knownBackground: true for each voxel that is background whatever the network
    ///   outputs, such as air on CT (see ``isAir(hounsfieldUnits:)``). Nil sets no such voxel.
    public func segment(_ phases: [[Float]?], extent: [Int], options: SlidingWindowOptions = SlidingWindowOptions(),
                        knownBackground: [Bool]? = nil) -> VolumeSegmentation {
        segment(phases, extent: extent, options: options, knownBackground: knownBackground, beforeWindow: {})
    }

    /// Segments whole volumes as ``segment(_:extent:options:knownBackground:)`` does, and calls
    /// `beforeWindow` before each window's pass. An error it throws stops the segmentation and is
    /// rethrown, so that a cancelled job need not wait for the last window.
    public func segment(_ phases: [[Float]?], extent: [Int], options: SlidingWindowOptions = SlidingWindowOptions(),
                        knownBackground: [Bool]? = nil, beforeWindow: () throws -> Void) rethrows -> VolumeSegmentation {
        let classes = configuration.segmentationClasses
        let multiple = configuration.gridMultiple
        precondition(options.window.allSatisfy { $0 % multiple == 0 }, "window \(options.window) must be multiples of \(multiple)")
        // A window no larger than needed: the volume rounded up to the grid multiple.
        let window = (0..<3).map { min(options.window[$0], (extent[$0] + multiple - 1) / multiple * multiple) }
        let starts = (0..<3).map { windowStarts(extent: extent[$0], window: window[$0], overlap: options.overlap) }
        let weight = gaussianWeights(window)

        let voxelCount = extent.reduce(1, *)
        var sums = [Float](repeating: 0, count: voxelCount * classes)
        var weights = [Float](repeating: 0, count: voxelCount)
        var timings = StageTimings()
        var windowCount = 0
        for d0 in starts[0] {
            for h0 in starts[1] {
                for w0 in starts[2] {
                    try beforeWindow()
                    let origin = [d0, h0, w0]
                    let inputs = phases.map { $0.map { crop($0, extent: extent, origin: origin, window: window) } }
                    let output = forward(inputs)
                    timings = timings + output.timings
                    windowCount += 1
                    let probabilities = Softmax.forward(output.logits)
                    accumulate(probabilities, weight: weight, origin: origin, window: window, extent: extent,
                               classes: classes, sums: &sums, weights: &weights)
                }
            }
        }

        var labels = [UInt8](repeating: 0, count: voxelCount)
        let threshold = configuration.lesionThreshold.map { Float($0) }
        for voxel in 0..<voxelCount {
            let total = max(weights[voxel], 1e-12)
            for item in 0..<classes {
                sums[voxel * classes + item] /= total
            }
            labels[voxel] = label(probabilities: sums[(voxel * classes)..<((voxel + 1) * classes)], lesionThreshold: threshold)
        }
        if let growThreshold = configuration.lesionGrowThreshold {
            growLesions(&labels, lesionProbabilities: { sums[$0 * classes + Int(SegmentationLabel.lesion)] },
                        threshold: Float(growThreshold), extent: extent)
        }
        if let knownBackground {
            for voxel in 0..<voxelCount where knownBackground[voxel] { labels[voxel] = SegmentationLabel.background }
        }
        keepLargestForegroundRegion(&labels, extent: extent)
        return VolumeSegmentation(probabilities: Tensor(shape: extent + [classes], scalars: sums), labels: labels,
                                  timings: timings, windowCount: windowCount)
    }
}

/// Window starts along one axis: evenly spaced from 0 to the last full window, at most
/// (1 - overlap) of a window apart.
func windowStarts(extent: Int, window: Int, overlap: Double) -> [Int] {
    guard extent > window else { return [0] }
    let step = max(1, Int((Double(window) * (1 - overlap)).rounded(.down)))
    let count = Int((Double(extent - window) / Double(step)).rounded(.up)) + 1
    return (0..<count).map { Int((Double($0) * Double(extent - window) / Double(count - 1)).rounded()) }
}

/// Returns a separable Gaussian over the window with sigma = 1/8 of each extent, as nnU-Net weights
/// its windows; normalised to 1 at the centre.
func gaussianWeights(_ window: [Int]) -> [Float] {
    let profiles = window.map { extent -> [Float] in
        let sigma = Double(extent) / 8
        let centre = Double(extent - 1) / 2
        return (0..<extent).map { Float(exp(-pow(Double($0) - centre, 2) / (2 * sigma * sigma))) }
    }
    var weights = [Float](repeating: 0, count: window.reduce(1, *))
    var index = 0
    for d in 0..<window[0] {
        for h in 0..<window[1] {
            for w in 0..<window[2] {
                weights[index] = max(profiles[0][d] * profiles[1][h] * profiles[2][w], 1e-6)
                index += 1
            }
        }
    }
    return weights
}

/// Cuts a (1, wd, wh, ww, 1) window out of a (D, H, W) volume, zero beyond its edges.
func crop(_ volume: [Float], extent: [Int], origin: [Int], window: [Int]) -> Tensor {
    var scalars = [Float](repeating: 0, count: window.reduce(1, *))
    for d in 0..<window[0] where origin[0] + d < extent[0] {
        for h in 0..<window[1] where origin[1] + h < extent[1] {
            let source = ((origin[0] + d) * extent[1] + origin[1] + h) * extent[2] + origin[2]
            let target = (d * window[1] + h) * window[2]
            let count = min(window[2], extent[2] - origin[2])
            scalars.replaceSubrange(target..<(target + count), with: volume[source..<(source + count)])
        }
    }
    return Tensor(shape: [1] + window + [1], scalars: scalars)
}

private func accumulate(_ probabilities: Tensor, weight: [Float], origin: [Int], window: [Int], extent: [Int], classes: Int,
                        sums: inout [Float], weights: inout [Float]) {
    for d in 0..<window[0] where origin[0] + d < extent[0] {
        for h in 0..<window[1] where origin[1] + h < extent[1] {
            for w in 0..<window[2] where origin[2] + w < extent[2] {
                let local = (d * window[1] + h) * window[2] + w
                let global = ((origin[0] + d) * extent[1] + origin[1] + h) * extent[2] + origin[2] + w
                weights[global] += weight[local]
                for item in 0..<classes {
                    sums[global * classes + item] += weight[local] * probabilities.scalars[local * classes + item]
                }
            }
        }
    }
}
