// The view of a key image: the axial slice with the most lesion voxels and a square crop
// around the lesion on it.
import Imaging
import Lesions

/// The part of a volume a key image shows: one slice k and a rectangle of voxels on it.
struct SliceCrop: Equatable {
    /// The slice index k.
    let slice: Int
    /// The voxel columns (index i) shown, left to right.
    let columns: Range<Int>
    /// The voxel rows (index j) shown, top to bottom.
    let rows: Range<Int>

    /// Finds the slice and crop for `lesion` on `geometry`.
    ///
    /// The slice is the one with the most lesion voxels. Among tied slices the one nearest the
    /// middle of the lesion's slices wins, and then the lower one. The crop is a square in
    /// millimetres, centred on the lesion's bounding box in i and j over all its slices. Its side
    /// is the longer in-plane extent of that box plus `marginMillimetres` on each side, and at
    /// least `minimumSideMillimetres`. The square is clipped to the volume, so near an edge the
    /// crop is narrower than the square.
    init(lesion: LesionComponent, geometry: Geometry, minimumSideMillimetres: Double, marginMillimetres: Double) {
        let size = geometry.size
        var lower = SIMD3<Int>(repeating: Int.max)
        var upper = SIMD3<Int>(repeating: Int.min)
        var voxelsPerSlice = [Int](repeating: 0, count: size.z)
        for linear in lesion.voxels {
            let index = SIMD3(linear % size.x, (linear / size.x) % size.y, linear / (size.x * size.y))
            lower = pointwiseMin(lower, index)
            upper = pointwiseMax(upper, index)
            voxelsPerSlice[index.z] += 1
        }

        let middle = Double(lower.z + upper.z) / 2
        slice = (lower.z...upper.z).max { a, b in
            if voxelsPerSlice[a] != voxelsPerSlice[b] { return voxelsPerSlice[a] < voxelsPerSlice[b] }
            if abs(Double(a) - middle) != abs(Double(b) - middle) { return abs(Double(a) - middle) > abs(Double(b) - middle) }
            return a > b
        }!

        // Extents run from outer edge to outer edge, so a single voxel is one spacing wide.
        let extentMillimetres = max(Double(upper.x - lower.x + 1) * geometry.spacing.x,
                                    Double(upper.y - lower.y + 1) * geometry.spacing.y)
        let side = max(minimumSideMillimetres, extentMillimetres + 2 * marginMillimetres)
        columns = Self.centredRange(around: Double(lower.x + upper.x) / 2, count: Int((side / geometry.spacing.x).rounded(.up)), limit: size.x)
        rows = Self.centredRange(around: Double(lower.y + upper.y) / 2, count: Int((side / geometry.spacing.y).rounded(.up)), limit: size.y)
    }

    /// Returns `count` consecutive indices centred on `centre` (half a voxel low when they cannot
    /// be centred exactly), clipped to `0..<limit`.
    private static func centredRange(around centre: Double, count: Int, limit: Int) -> Range<Int> {
        let start = Int((centre - Double(count - 1) / 2).rounded(.down))
        return max(start, 0)..<min(start + count, limit)
    }
}
