// Builds Float volumes from DICOM series: ordering, checks, pixel loading and resampling.

/// A series assembled into a volume.
public struct AssembledSeries: Sendable {
    public var attributes: SeriesAttributes
    /// Physical values (HU for CT) on a regular grid in LPS.
    public var volume: Volume<Float>
    /// Problems found and what was done about them (duplicates ignored, resampling).
    public var warnings: [String]
    /// The number of distinct slices read.
    public var sliceCount: Int
}

/// Assembles DICOM series into volumes.
public enum SeriesAssembler {
    /// Orders, checks and loads one series.
    ///
    /// Irregular stacks are resampled or rejected according to `options.irregularSlices`.
    /// Resampled voxels outside the acquired slices take the series' lowest value.
    ///
    /// - throws: `SeriesError` when the slices do not form a volume, `DicomError` when a file fails to decode.
    public static func assemble(_ series: DicomSeries, options: SeriesAssemblyOptions = SeriesAssemblyOptions()) throws -> AssembledSeries {
        if let inconsistency = series.inconsistency {
            throw SeriesError(seriesInstanceUID: series.attributes.seriesInstanceUID, reason: inconsistency)
        }
        let layout = try SliceStackLayout(series, options: options)
        var voxels = try SlicePixelLoader.load(layout.slices)
        if layout.needsResampling {
            let padding = voxels.min() ?? 0
            voxels = SliceStackResampler.resample(voxels, layout: layout, padding: padding)
        }
        return AssembledSeries(attributes: series.attributes, volume: Volume(geometry: layout.geometry, voxels: voxels),
                               warnings: layout.warnings, sliceCount: layout.slices.count)
    }

    /// Scans `folder` and assembles the one series in it.
    ///
    /// - throws: `SeriesError` when the folder contains no series or more than one, or when the series fails.
    public static func loadSeries(folder: String, options: SeriesAssemblyOptions = SeriesAssemblyOptions()) throws -> AssembledSeries {
        let scan = try SeriesScanner.scan(folder)
        guard scan.series.count == 1, let series = scan.series.first else {
            let reason = scan.series.isEmpty
                ? "no DICOM image series found in \(folder) (\(scan.skipped.count) files skipped)"
                : "\(scan.series.count) series found in \(folder); scan with SeriesScanner and assemble one"
            throw SeriesError(seriesInstanceUID: "", reason: reason)
        }
        return try assemble(series, options: options)
    }
}
