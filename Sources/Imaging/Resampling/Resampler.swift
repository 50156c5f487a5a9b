// Resamples a volume onto another grid in physical space: trilinear for images, nearest for labels.

/// Resampling between grids with any spacing, origin and direction.
///
/// Each target voxel centre is mapped to the source's continuous index through both grids'
/// index-to-world transforms, so the result is correct in patient space for any pair of
/// direction matrices. Target points outside the source's voxel centres take `outsideValue`.
public enum Resampler {
    /// Resamples an image with trilinear interpolation.
    ///
    /// - parameters:
    ///   - image: the source volume.
    ///   - grid: the target grid, for example another phase's `geometry`.
    ///   - outsideValue: the value of target voxels outside the source, e.g. -1024 for CT.
    public static func resample(_ image: Volume<Float>, onto grid: Geometry, outsideValue: Float = 0) -> Volume<Float> {
        let source = image.geometry
        let size = source.size
        var output = [Float](repeating: outsideValue, count: grid.voxelCount)
        image.voxels.withUnsafeBufferPointer { voxels in
            forEachTargetVoxel(grid, source: source) { targetIndex, point in
                let x = point.x, y = point.y, z = point.z
                let epsilon = 1e-6
                guard x >= -epsilon, y >= -epsilon, z >= -epsilon,
                      x <= Double(size.x - 1) + epsilon, y <= Double(size.y - 1) + epsilon, z <= Double(size.z - 1) + epsilon else { return }
                let x0 = min(max(Int(x.rounded(.down)), 0), size.x - 1)
                let y0 = min(max(Int(y.rounded(.down)), 0), size.y - 1)
                let z0 = min(max(Int(z.rounded(.down)), 0), size.z - 1)
                let x1 = min(x0 + 1, size.x - 1), y1 = min(y0 + 1, size.y - 1), z1 = min(z0 + 1, size.z - 1)
                let fx = min(max(x - Double(x0), 0), 1), fy = min(max(y - Double(y0), 0), 1), fz = min(max(z - Double(z0), 0), 1)
                func at(_ i: Int, _ j: Int, _ k: Int) -> Double { Double(voxels[i + size.x * (j + size.y * k)]) }
                let c00 = at(x0, y0, z0) * (1 - fx) + at(x1, y0, z0) * fx
                let c10 = at(x0, y1, z0) * (1 - fx) + at(x1, y1, z0) * fx
                let c01 = at(x0, y0, z1) * (1 - fx) + at(x1, y0, z1) * fx
                let c11 = at(x0, y1, z1) * (1 - fx) + at(x1, y1, z1) * fx
                let c0 = c00 * (1 - fy) + c10 * fy
                let c1 = c01 * (1 - fy) + c11 * fy
                output[targetIndex] = Float(c0 * (1 - fz) + c1 * fz)
            }
        }
        return Volume(geometry: grid, voxels: output)
    }

    /// Resamples a label map with nearest-neighbour interpolation. Outside voxels take
    /// `outsideLabel`, 0 by default.
    public static func resampleLabels<Label: VoxelValue & FixedWidthInteger>(_ labels: Volume<Label>, onto grid: Geometry, outsideLabel: Label = 0) -> Volume<Label> {
        let source = labels.geometry
        let size = source.size
        var output = [Label](repeating: outsideLabel, count: grid.voxelCount)
        labels.voxels.withUnsafeBufferPointer { voxels in
            forEachTargetVoxel(grid, source: source) { targetIndex, point in
                // Round half up, so a point midway between voxels takes the same side everywhere.
                let i = Int((point.x + 0.5).rounded(.down)), j = Int((point.y + 0.5).rounded(.down)), k = Int((point.z + 0.5).rounded(.down))
                guard i >= 0, j >= 0, k >= 0, i < size.x, j < size.y, k < size.z else { return }
                output[targetIndex] = voxels[i + size.x * (j + size.y * k)]
            }
        }
        return Volume(geometry: grid, voxels: output)
    }

    /// Calls `body` with each target voxel's linear index and its continuous index in the source.
    /// The source index moves by a constant step along i, so each row costs one matrix product.
    private static func forEachTargetVoxel(_ grid: Geometry, source: Geometry, _ body: (Int, Vector3) -> Void) {
        guard let toSourceIndex = source.indexToWorldMatrix.inverse else {
            preconditionFailure("singular source grid: spacing \(source.spacing), direction \(source.direction)")
        }
        let transform = toSourceIndex * grid.indexToWorldMatrix
        let offset = toSourceIndex * (grid.origin - source.origin)
        let step = transform.columns[0]
        var targetIndex = 0
        for k in 0..<grid.size.z {
            for j in 0..<grid.size.y {
                var point = transform * Vector3(0, Double(j), Double(k)) + offset
                for _ in 0..<grid.size.x {
                    body(targetIndex, point)
                    point += step
                    targetIndex += 1
                }
            }
        }
    }
}
