// A 3D image or label map on a grid in patient space.

/// A voxel type that a `Volume` can hold: Float32 for images, UInt8 and UInt16 for label maps.
public protocol VoxelValue: Numeric, Sendable, Equatable {
    /// Converts from a double, rounding and clamping where the type is an integer.
    init(clampingDouble value: Double)
    /// The value as a double.
    var doubleValue: Double { get }
}

extension Float: VoxelValue {
    public init(clampingDouble value: Double) { self = Float(value) }
    public var doubleValue: Double { Double(self) }
}

extension UInt8: VoxelValue {
    public init(clampingDouble value: Double) {
        self = value.isNaN ? 0 : UInt8(Swift.min(Swift.max(value.rounded(), 0), 255))
    }
    public var doubleValue: Double { Double(self) }
}

extension UInt16: VoxelValue {
    public init(clampingDouble value: Double) {
        self = value.isNaN ? 0 : UInt16(Swift.min(Swift.max(value.rounded(), 0), 65535))
    }
    public var doubleValue: Double { Double(self) }
}

/// Voxels on a grid: `voxels[i + size.x * (j + size.y * k)]` is voxel (i, j, k).
///
/// Images hold physical values (HU for CT, after Rescale Slope and Intercept) as `Float`;
/// label maps hold class numbers as `UInt8` or `UInt16`.
public struct Volume<Voxel: VoxelValue>: Sendable {
    /// The grid the voxels sit on in patient space.
    public var geometry: Geometry
    /// The voxels, i fastest, then j, then k.
    public var voxels: [Voxel]

    /// Creates a volume; `voxels.count` must equal the grid's voxel count.
    public init(geometry: Geometry, voxels: [Voxel]) {
        precondition(voxels.count == geometry.voxelCount,
                     "\(voxels.count) voxels for a grid of \(geometry.size)")
        self.geometry = geometry
        self.voxels = voxels
    }

    /// Creates a volume filled with one value.
    public init(geometry: Geometry, repeating value: Voxel) {
        self.geometry = geometry
        self.voxels = [Voxel](repeating: value, count: geometry.voxelCount)
    }

    /// Voxels along i, j and k.
    public var size: VolumeSize { geometry.size }
    /// Distance between voxel centres along i, j and k, in millimetres.
    public var spacing: Vector3 { geometry.spacing }
    /// Centre of voxel (0, 0, 0) in LPS millimetres.
    public var origin: Vector3 { geometry.origin }
    /// Unit vectors of the i, j, k axes in LPS, as columns.
    public var direction: Matrix3 { geometry.direction }

    /// Accesses the voxel at (i, j, k).
    public subscript(i: Int, j: Int, k: Int) -> Voxel {
        get { voxels[i + geometry.size.x * (j + geometry.size.y * k)] }
        set { voxels[i + geometry.size.x * (j + geometry.size.y * k)] = newValue }
    }
}
