// Orders the slices of a series along their normal and works out the grid they form, detecting
// mixed orientations, duplicates, missing slices, non-uniform spacing and gantry tilt.
import Foundation

/// The handling of a series whose slices do not lie on a regular grid.
public enum IrregularSlicePolicy: String, Sendable, Codable {
    /// Reject the series with an error that names the problem.
    case reject
    /// Resample onto a regular grid at the median spacing (see `SliceStackResampler`).
    case resample
}

/// Tolerances and the policy for series assembly.
public struct SeriesAssemblyOptions: Sendable {
    public var irregularSlices: IrregularSlicePolicy
    /// Largest accepted deviation of a gap from the median gap, as a fraction of the median.
    public var spacingTolerance: Double
    /// Largest accepted in-plane drift of a slice position from the first, in millimetres; the
    /// default 0.05 mm allows for positions written with few decimals.
    public var tiltTolerance: Double

    /// Creates options; by default irregular stacks are resampled.
    public init(irregularSlices: IrregularSlicePolicy = .resample, spacingTolerance: Double = 0.01, tiltTolerance: Double = 0.05) {
        self.irregularSlices = irregularSlices
        self.spacingTolerance = spacingTolerance
        self.tiltTolerance = tiltTolerance
    }
}

/// A series that cannot be assembled into a volume, and why.
public struct SeriesError: Error, CustomStringConvertible, Sendable {
    public var seriesInstanceUID: String
    public var reason: String
    public var description: String { "series \(seriesInstanceUID): \(reason)" }
}

/// The slices of a series in order along the slice normal, with the grid they define.
public struct SliceStackLayout: Sendable {
    /// Slices sorted by position along the normal, duplicates removed.
    public var slices: [ImageSlice]
    /// Each slice's position projected on the normal, millimetres, ascending.
    public var distances: [Double]
    /// The regular output grid: i along rows, j down columns, k along the normal.
    public var geometry: Geometry
    /// Whether the slices do not fall on `geometry`'s slices, so they must be resampled.
    public var needsResampling: Bool
    /// Problems found and what was done about them, for the conversion report.
    public var warnings: [String]

    /// Orders and checks the slices of a series.
    ///
    /// - throws: `SeriesError` for mixed sizes or orientations, two different images at one
    ///   position, and, when the policy is `.reject`, for missing slices, non-uniform spacing or tilt.
    public init(_ series: DicomSeries, options: SeriesAssemblyOptions = SeriesAssemblyOptions()) throws {
        let uid = series.attributes.seriesInstanceUID
        func fail(_ reason: String) -> SeriesError { SeriesError(seriesInstanceUID: uid, reason: reason) }
        guard let first = series.slices.first else { throw fail("the series has no slices") }
        var warnings: [String] = []

        // Pass 1: one size, spacing and orientation for every slice.
        for slice in series.slices {
            if slice.rows != first.rows || slice.columns != first.columns {
                throw fail("slices have different sizes: \(first.columns) x \(first.rows) in \(first.source.path), \(slice.columns) x \(slice.rows) in \(slice.source.path)")
            }
            if length(slice.rowDirection - first.rowDirection) > 1e-4 || length(slice.columnDirection - first.columnDirection) > 1e-4 {
                throw fail("mixed orientations: \(first.source.path) and \(slice.source.path) have different Image Orientation (Patient); convert each orientation as its own series")
            }
            if abs(slice.pixelSpacing.x - first.pixelSpacing.x) > 1e-4 || abs(slice.pixelSpacing.y - first.pixelSpacing.y) > 1e-4 {
                throw fail("slices have different Pixel Spacing: \(first.source.path) and \(slice.source.path)")
            }
        }

        // Pass 2: order along the normal, never by Instance Number or file name.
        let normal = first.normal
        var ordered = series.slices.map { (slice: $0, distance: dot($0.position, normal)) }
            .sorted { ($0.distance, $0.slice.source.path, $0.slice.source.frame) < ($1.distance, $1.slice.source.path, $1.slice.source.frame) }

        // Pass 3: duplicates. A copy of one instance is dropped; two instances at one position are an error.
        var unique: [(slice: ImageSlice, distance: Double)] = []
        // Copies, with the slice each copies, reported in one warning: a folder given twice
        // copies every slice.
        var copies: [(copy: String, original: String)] = []
        for entry in ordered {
            if let last = unique.last, abs(entry.distance - last.distance) < 1e-3 {
                if entry.slice.sopInstanceUID == last.slice.sopInstanceUID && entry.slice.source.mosaicTile == last.slice.source.mosaicTile
                    && entry.slice.source.frame == last.slice.source.frame {
                    copies.append((entry.slice.source.path, last.slice.source.path))
                    continue
                }
                throw fail("two different images at position \(format(entry.distance)) mm along the normal: \(last.slice.source.path) and \(entry.slice.source.path); the series holds more than one image per position (echoes, phases or repeated acquisitions)")
            }
            unique.append(entry)
        }
        if let first = copies.first {
            let others = copies.count > 1 ? " and \(copies.count - 1) more" : ""
            warnings.append("duplicate slice ignored: \(first.copy) is a copy of \(first.original) (same SOP Instance UID)\(others)")
        }
        ordered = unique
        let distances = ordered.map(\.distance)

        // Pass 4: spacing from positions, and the irregularities that need resampling.
        var spacing = first.sliceThickness ?? 1
        var needsResampling = false
        var problems: [String] = []
        if ordered.count > 1 {
            let gaps = zip(distances.dropFirst(), distances).map { $0 - $1 }
            spacing = gaps.sorted()[gaps.count / 2]
            let tolerance = max(spacing * options.spacingTolerance, 1e-3)
            for (index, gap) in gaps.enumerated() where abs(gap - spacing) > tolerance {
                let multiple = (gap / spacing).rounded()
                if multiple >= 2 && abs(gap - multiple * spacing) <= tolerance * multiple {
                    problems.append("\(Int(multiple) - 1) slice(s) missing between \(format(distances[index])) and \(format(distances[index + 1])) mm along the normal (gap \(format(gap)) mm, spacing \(format(spacing)) mm)")
                } else {
                    problems.append("non-uniform spacing: gap of \(format(gap)) mm between \(format(distances[index])) and \(format(distances[index + 1])) mm along the normal, median spacing \(format(spacing)) mm")
                }
            }
            let drift = ordered.map { length(($0.slice.position - first.position) - normal * dot($0.slice.position - first.position, normal)) }
            let positionsFromFirst = ordered.map { $0.slice.position - ordered[0].slice.position }
            if let maximumDrift = drift.max(), maximumDrift > options.tiltTolerance {
                let along = dot(positionsFromFirst.last!, normal)
                let inPlane = length(positionsFromFirst.last! - normal * along)
                let degrees = atan2(inPlane, abs(along)) * 180 / .pi
                problems.append("gantry tilt: slice positions move \(format(inPlane)) mm in plane over \(format(abs(along))) mm along the normal (\(format(degrees)) degrees)")
            }
            if !problems.isEmpty {
                guard options.irregularSlices == .resample else {
                    throw fail(problems.joined(separator: "; ") + "; assemble with resampling to interpolate a regular grid")
                }
                needsResampling = true
                warnings += problems.map { $0 + "; resampled onto a regular grid" }
            }
        }

        let extent = distances.last! - distances.first!
        let count = ordered.count > 1 ? Int((extent / spacing).rounded()) + 1 : 1
        // A few tiny gaps can make the median spacing far too small for the stack's extent.
        guard count <= 4 * ordered.count else {
            throw fail("\(ordered.count) slices over \(format(extent)) mm at a median spacing of \(format(spacing)) mm would need \(count) slices; the spacing is too irregular to resample")
        }
        let origin = ordered[0].slice.position
        slices = ordered.map(\.slice)
        self.distances = distances
        geometry = Geometry(size: VolumeSize(first.columns, first.rows, count),
                            spacing: Vector3(first.pixelSpacing.x, first.pixelSpacing.y, spacing),
                            origin: origin,
                            direction: Matrix3(columns: first.rowDirection, first.columnDirection, normal))
        self.needsResampling = needsResampling
        self.warnings = warnings
    }
}

/// Formats millimetres for messages with up to 3 decimals.
func format(_ value: Double) -> String {
    let rounded = (value * 1000).rounded() / 1000
    return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
}
