// The pixel grid of one key image panel: square pixels in millimetres, each showing the voxel
// whose area contains the pixel's centre (nearest-neighbour scaling).
import Imaging

/// The mapping from the pixels of a panel to the voxels of a crop, and the lesion's contour.
struct PanelSampling {
    let width: Int
    let height: Int
    /// The voxel column i that each pixel column x shows.
    let columnOfPixel: [Int]
    /// The voxel row j that each pixel row y shows.
    let rowOfPixel: [Int]
    /// Whether pixel (x, y), at `x + width * y`, lies on the lesion's contour.
    let isContour: [Bool]

    /// Lays out a panel whose longer side is `longerSidePixels` pixels for `crop` on a grid with
    /// `spacing`, and marks as contour every lesion pixel with a non-lesion 4-neighbour in the
    /// scaled image. Pixels on the panel border count the outside as non-lesion.
    ///
    /// - parameters:
    ///   - isLesion: whether voxel (i, j) of the crop's slice belongs to the lesion.
    init(crop: SliceCrop, spacing: Vector3, longerSidePixels: Int, isLesion: (Int, Int) -> Bool) {
        let widthMillimetres = Double(crop.columns.count) * spacing.x
        let heightMillimetres = Double(crop.rows.count) * spacing.y
        let pixelMillimetres = max(widthMillimetres, heightMillimetres) / Double(longerSidePixels)
        width = max(1, Int((widthMillimetres / pixelMillimetres).rounded()))
        height = max(1, Int((heightMillimetres / pixelMillimetres).rounded()))

        func voxels(_ pixels: Int, of range: Range<Int>, spacing: Double) -> [Int] {
            (0..<pixels).map { pixel in
                let offset = Int((Double(pixel) + 0.5) * pixelMillimetres / spacing)
                return range.lowerBound + min(offset, range.count - 1)
            }
        }
        columnOfPixel = voxels(width, of: crop.columns, spacing: spacing.x)
        rowOfPixel = voxels(height, of: crop.rows, spacing: spacing.y)

        var lesionPixels = [Bool](repeating: false, count: width * height)
        for y in 0..<height {
            for x in 0..<width where isLesion(columnOfPixel[x], rowOfPixel[y]) {
                lesionPixels[x + width * y] = true
            }
        }
        var contour = [Bool](repeating: false, count: width * height)
        for y in 0..<height {
            for x in 0..<width where lesionPixels[x + width * y] {
                let onBorder = x == 0 || y == 0 || x == width - 1 || y == height - 1
                contour[x + width * y] = onBorder
                    || !lesionPixels[x - 1 + width * y] || !lesionPixels[x + 1 + width * y]
                    || !lesionPixels[x + width * (y - 1)] || !lesionPixels[x + width * (y + 1)]
            }
        }
        isContour = contour
    }
}
