// The clean-up of the network's label map. The liver is one organ, so foreground that the
// network finds away from it (bowel, kidney or spleen of similar density) is a false positive.
import Imaging
import Lesions

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
