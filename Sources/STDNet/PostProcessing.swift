// From class probabilities to the label map, and its clean-up. The liver is one organ, so
// foreground that the network finds away from it (bowel, kidney or spleen of similar density)
// is a false positive.
import Imaging
import Lesions

/// Returns whether a CT voxel is air (below -500 HU), which no liver or lesion is. The network's input is
/// clipped at -200 HU, so it cannot tell air from fat, and the phantom-trained model labels
/// liver in air outside the field of view it was trained on.
public func isAir(hounsfieldUnits value: Float) -> Bool {
    value < -500
}

/// Sets every foreground voxel outside the largest 26-connected foreground region (liver and
/// lesion labels together) to background. `labels` contains D·H·W values in (d, h, w) order with
/// `extent` = [D, H, W].
func keepLargestForegroundRegion(_ labels: inout [UInt8], extent: [Int]) {
    let size = VolumeSize(extent[2], extent[1], extent[0])
    let regions = connectedComponents(size: size) { labels[$0] != SegmentationLabel.background }
    for region in regions.dropFirst() {
        for voxel in region { labels[voxel] = SegmentationLabel.background }
    }
}

/// Labels lesion every voxel whose lesion probability reaches `threshold` and that is
/// 26-connected, through such voxels, to a voxel already labelled lesion. A lesion keeps its
/// extent this way, while a region that never reaches the higher threshold stays unlabelled.
/// `extent` = [D, H, W] of the (d, h, w) ordered labels.
func growLesions(_ labels: inout [UInt8], lesionProbabilities: (Int) -> Float, threshold: Float, extent: [Int]) {
    let size = VolumeSize(extent[2], extent[1], extent[0])
    let candidates = connectedComponents(size: size) { lesionProbabilities($0) >= threshold }
    for region in candidates where region.contains(where: { labels[$0] == SegmentationLabel.lesion }) {
        for voxel in region { labels[voxel] = SegmentationLabel.lesion }
    }
}

/// Returns the label of one voxel from its class probabilities (background, liver, lesion).
/// Without a threshold it is the most probable class. With one, the voxel is lesion when the
/// lesion probability reaches the threshold, else liver when liver and lesion together outweigh
/// background, else background.
func label(probabilities: ArraySlice<Float>, lesionThreshold: Float?) -> UInt8 {
    let first = probabilities.startIndex
    guard let lesionThreshold, probabilities.count == 3 else {
        let best = probabilities.indices.max { probabilities[$0] < probabilities[$1] } ?? first
        return UInt8(best - first)
    }
    let background = probabilities[first + Int(SegmentationLabel.background)]
    let liver = probabilities[first + Int(SegmentationLabel.liver)]
    let lesion = probabilities[first + Int(SegmentationLabel.lesion)]
    if lesion >= lesionThreshold { return SegmentationLabel.lesion }
    return liver + lesion > background ? SegmentationLabel.liver : SegmentationLabel.background
}
