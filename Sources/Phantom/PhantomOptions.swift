// What a phantom patient looks like: grid, motion, phases and lesions.
import Imaging

/// Options of a generated patient and its studies.
public struct PhantomOptions: Sendable {
    /// Voxels of the portal venous grid (x, y, z).
    public var size: VolumeSize
    /// Spacing of the portal venous grid in mm. Setting it leaves `size` as it is: use
    /// ``abdomenGrid(spacing:)`` for the grid that spans the abdomen at the new spacing.
    public var spacing: Vector3
    /// Slice spacing per phase in mm where it differs from the portal venous one.
    public var sliceSpacing: [Phase: Double]
    /// Largest breathing shift between phases in mm, mostly head-foot; 0 aligns the phases.
    public var motionMillimetres: Double
    /// The breathing shifts the options accept, in mm. Shifts of 5-15 mm are common; beyond
    /// 50 mm the liver of one phase would lie over the lungs or bowel of another.
    public static let motionRange: ClosedRange<Double> = 0...50
    /// Phases left out of every study.
    public var droppedPhases: Set<Phase>
    /// Maps HU to arbitrary MRI-like signal (fat bright, water dark) instead of writing CT values.
    public var mriLike: Bool
    /// Lesions at the first timepoint.
    public var lesionCount: ClosedRange<Int>
    /// Months between timepoints.
    public var monthsBetweenStudies: Double

    /// The field of view, in mm (x, y, z), of the phantoms the shipped model was trained and
    /// evaluated on.
    public static let abdomenFieldOfView = Vector3(360, 264, 180)
    /// The field of view for messages: "360 x 264 x 180".
    public static var abdomenFieldOfViewText: String {
        [abdomenFieldOfView.x, abdomenFieldOfView.y, abdomenFieldOfView.z].map { String(Int($0)) }.joined(separator: " x ")
    }

    /// A 64-bit FNV-1a hash of every option that changes the rendered images, so that the UIDs
    /// of phantoms that differ in more than seed, patient and timepoint differ too.
    public var imageFingerprint: UInt64 {
        let slices = sliceSpacing.map { "\($0.key.rawValue)=\($0.value)" }.sorted()
        let text = "\(size.x),\(size.y),\(size.z) \(spacing.x),\(spacing.y),\(spacing.z) \(slices) \(motionMillimetres) "
            + "\(droppedPhases.map(\.rawValue).sorted()) \(mriLike) \(lesionCount) \(monthsBetweenStudies)"
        return text.utf8.reduce(14_695_981_039_346_656_037) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 }
    }

    /// The maximum voxel count of a phantom grid: four phases of Float voxels and the label maps
    /// must fit in memory.
    public static let largestGridVoxels = 1 << 28

    /// Returns ``abdomenGrid(spacing:)``, or nil when it would have more than
    /// ``largestGridVoxels`` voxels.
    public static func boundedAbdomenGrid(spacing: Vector3) -> VolumeSize? {
        // Checked per axis before the grid is counted in integers, which a spacing of 1e-12 mm
        // would overflow, and the product in floating point, which 1e-4 mm on every axis would
        // overflow in integers.
        let limit = Double(largestGridVoxels)
        guard (abdomenFieldOfView / spacing).max() <= limit else { return nil }
        let size = abdomenGrid(spacing: spacing)
        return Double(size.x) * Double(size.y) * Double(size.z) <= limit ? size : nil
    }

    /// Returns the grid of whole voxels at `spacing` that spans at most ``abdomenFieldOfView``,
    /// and at least one voxel, on each axis.
    public static func abdomenGrid(spacing: Vector3) -> VolumeSize {
        // The tolerance keeps 264 / 1.1 = 239.99999999999997 at 240 voxels.
        let voxels = abdomenFieldOfView / spacing + Vector3(repeating: 1e-9)
        return VolumeSize(max(Int(voxels.x), 1), max(Int(voxels.y), 1), max(Int(voxels.z), 1))
    }

    /// Without a `size`, the grid spans ``abdomenFieldOfView`` at `spacing` (see ``abdomenGrid(spacing:)``).
    public init(size: VolumeSize? = nil, spacing: Vector3 = Vector3(1.4, 1.4, 2.5),
                sliceSpacing: [Phase: Double] = [:], motionMillimetres: Double = 10, droppedPhases: Set<Phase> = [],
                mriLike: Bool = false, lesionCount: ClosedRange<Int> = 2...5, monthsBetweenStudies: Double = 3) {
        self.size = size ?? Self.abdomenGrid(spacing: spacing)
        self.spacing = spacing
        self.sliceSpacing = sliceSpacing
        self.motionMillimetres = motionMillimetres
        self.droppedPhases = droppedPhases
        self.mriLike = mriLike
        self.lesionCount = lesionCount
        self.monthsBetweenStudies = monthsBetweenStudies
    }
}
