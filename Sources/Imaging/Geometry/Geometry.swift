// The sampling grid of a volume in LPS patient coordinates, and the index<->world transforms.

/// The number of voxels along i, j and k.
public typealias VolumeSize = SIMD3<Int>

/// The sampling grid of a volume in patient space.
///
/// Coordinates are DICOM patient coordinates (LPS: x towards the patient's left, y posterior,
/// z towards the head), in millimetres. Voxel index (i, j, k) sits at
/// `origin + direction * (spacing * (i, j, k))`, so the origin is the centre of voxel (0, 0, 0).
public struct Geometry: Equatable, Sendable {
    /// Voxels along i (columns), j (rows) and k (slices).
    public var size: VolumeSize
    /// Distance between voxel centres along i, j and k, in millimetres.
    public var spacing: Vector3
    /// Centre of voxel (0, 0, 0), in LPS millimetres.
    public var origin: Vector3
    /// Unit vectors of the i, j and k axes in LPS, as columns.
    public var direction: Matrix3

    /// Creates a grid; `direction` defaults to the identity (axial, LPS-aligned).
    public init(size: VolumeSize, spacing: Vector3, origin: Vector3 = .zero, direction: Matrix3 = .identity) {
        self.size = size
        self.spacing = spacing
        self.origin = origin
        self.direction = direction
    }

    /// The number of voxels.
    public var voxelCount: Int { size.x * size.y * size.z }

    /// The matrix that takes a continuous index to an offset from the origin: direction x diag(spacing).
    public var indexToWorldMatrix: Matrix3 {
        Matrix3(columns: direction.columns[0] * spacing.x,
                direction.columns[1] * spacing.y,
                direction.columns[2] * spacing.z)
    }

    /// Returns the LPS position of a continuous index (i, j, k).
    public func world(atIndex index: Vector3) -> Vector3 {
        origin + indexToWorldMatrix * index
    }

    /// Returns the continuous index of an LPS position.
    ///
    /// - precondition: the spacing is non-zero and the direction matrix is invertible.
    public func index(atWorld point: Vector3) -> Vector3 {
        guard let inverse = indexToWorldMatrix.inverse else {
            preconditionFailure("singular grid: spacing \(spacing), direction \(direction)")
        }
        return inverse * (point - origin)
    }

    /// Returns the share of this grid's box (its voxels' outer edges) that `other`'s box covers,
    /// from 0 to 1. The other box is taken as its bounding box along this grid's axes, which is
    /// exact when the two grids are parallel, as the phases of one study usually are.
    public func coveredShare(by other: Geometry) -> Double {
        var low = Vector3(repeating: .infinity)
        var high = Vector3(repeating: -.infinity)
        for corner in 0..<8 {
            let index = Vector3(corner & 1 == 0 ? -0.5 : Double(other.size.x) - 0.5,
                                corner & 2 == 0 ? -0.5 : Double(other.size.y) - 0.5,
                                corner & 4 == 0 ? -0.5 : Double(other.size.z) - 0.5)
            let inThisGrid = self.index(atWorld: other.world(atIndex: index))
            low = pointwiseMin(low, inThisGrid)
            high = pointwiseMax(high, inThisGrid)
        }
        var share = 1.0
        for axis in 0..<3 {
            let extent = Double(size[axis])
            let overlap = min(high[axis], extent - 0.5) - max(low[axis], -0.5)
            share *= max(0, overlap) / extent
        }
        return share
    }

    /// Returns whether two grids sample the same points, within `tolerance` millimetres at the far corner.
    public func isSameGrid(as other: Geometry, tolerance: Double = 1e-4) -> Bool {
        guard size == other.size else { return false }
        let far = Vector3(Double(size.x - 1), Double(size.y - 1), Double(size.z - 1))
        return length(world(atIndex: .zero) - other.world(atIndex: .zero)) <= tolerance
            && length(world(atIndex: far) - other.world(atIndex: far)) <= tolerance
            && length(world(atIndex: Vector3(far.x, 0, 0)) - other.world(atIndex: Vector3(far.x, 0, 0))) <= tolerance
            && length(world(atIndex: Vector3(0, far.y, 0)) - other.world(atIndex: Vector3(0, far.y, 0))) <= tolerance
    }
}
