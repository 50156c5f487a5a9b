// Converts every DICOM series under a folder to .nii.gz with a JSON sidecar, in the spirit of
// dcm2niix, and reports what was skipped and why.
import Foundation

/// The JSON sidecar written beside each converted volume.
public struct SeriesSidecar: Codable, Sendable {
    public var seriesInstanceUID: String
    public var seriesNumber: Int?
    public var seriesDescription: String?
    public var modality: String?
    public var phase: String?
    public var phaseEvidence: String
    public var contrastAgent: String?
    /// Acquisition Time in seconds after midnight of the Study Date: above 86,400 for a series
    /// acquired on a later day (see ``SeriesAttributes/acquisitionTime``).
    public var acquisitionTime: Double?
    /// Voxels along i, j, k.
    public var size: [Int]
    /// Millimetres between voxel centres along i, j, k.
    public var spacing: [Double]
    /// Centre of the first voxel, LPS millimetres.
    public var originLPS: [Double]
    /// Unit vectors of the i, j, k axes in LPS, one array per axis.
    public var directionLPS: [[Double]]
    public var sliceCount: Int
    public var warnings: [String]

    /// Keys in the PascalCase of dcm2niix's and BIDS sidecars, DICOM keywords where one exists.
    enum CodingKeys: String, CodingKey {
        case seriesInstanceUID = "SeriesInstanceUID", seriesNumber = "SeriesNumber", seriesDescription = "SeriesDescription"
        case modality = "Modality", phase = "Phase", phaseEvidence = "PhaseEvidence", contrastAgent = "ContrastBolusAgent"
        case acquisitionTime = "AcquisitionTimeSeconds", size = "Size", spacing = "Spacing", originLPS = "OriginLPS"
        case directionLPS = "DirectionLPS", sliceCount = "SliceCount", warnings = "Warnings"
    }
}

/// The outcome of a conversion, also written as conversion-report.json.
public struct ConversionReport: Codable, Sendable {
    /// A series converted, with its output files.
    public struct Converted: Codable, Sendable {
        public var seriesInstanceUID: String
        public var volumePath: String
        public var sidecarPath: String
        public var warnings: [String]
    }
    /// A series found but not converted, with the error.
    public struct Failed: Codable, Sendable {
        public var seriesInstanceUID: String
        public var seriesDescription: String?
        public var reason: String
    }

    public var converted: [Converted]
    public var failedSeries: [Failed]
    public var skippedFiles: [SkippedFile]
}

/// Converts a DICOM folder tree to NIfTI volumes with sidecars.
public enum SeriesConverter {
    /// Converts every series under `folder` into `outputFolder`.
    ///
    /// Each series becomes `<number>_<description>.nii.gz` and a `.json` sidecar (`SeriesSidecar`).
    /// A series with several orientations or image sizes (a localizer, say) is split into one
    /// volume per stack, each with a warning.
    /// A series that fails is listed with its error and the others carry on. The report is also
    /// written to `conversion-report.json` in `outputFolder`.
    ///
    /// - parameters:
    ///   - phaseMapping: phases by Series Instance UID or Series Number; these override every hint.
    /// - throws: only when the folders cannot be read or written; `ConversionOutputError` when
    ///   the output folder or the report cannot be created.
    public static func convert(folder: String, to outputFolder: String, options: SeriesAssemblyOptions = SeriesAssemblyOptions(),
                               phaseMapping: [String: Phase] = [:]) throws -> ConversionReport {
        do {
            try FileManager.default.createDirectory(atPath: outputFolder, withIntermediateDirectories: true)
        } catch let error as CocoaError {
            throw ConversionOutputError(action: "create the output folder", path: outputFolder, error)
        }
        let scan = try SeriesScanner.scan(folder)
        var report = ConversionReport(converted: [], failedSeries: [], skippedFiles: scan.skipped)

        // Phases come from series attributes only, so every series found takes part in the
        // acquisition time order, and volumes are written one at a time to bound memory.
        let phases = PhaseIdentifier.identify(scan.series.map { PhaseCandidate($0.attributes) }, userMapping: phaseMapping)
        var usedNames: Set<String> = []
        for series in scan.series {
            let stacks = series.stacksByOrientation()
            for (index, stack) in stacks.enumerated() {
                do {
                    var assembled = try SeriesAssembler.assemble(stack, options: options)
                    if stacks.count > 1 {
                        assembled.warnings.append("series split into \(stacks.count) stacks by orientation or image size; this is stack \(index + 1) with \(stack.slices.count) slices")
                    }
                    let phase = phases[series.attributes.seriesInstanceUID]
                    report.converted.append(try write(assembled, phase: phase, to: outputFolder, usedNames: &usedNames))
                } catch let error as SeriesError {
                    report.failedSeries.append(.init(seriesInstanceUID: series.attributes.seriesInstanceUID,
                                                     seriesDescription: series.attributes.seriesDescription, reason: error.reason))
                } catch let error as DicomError {
                    report.failedSeries.append(.init(seriesInstanceUID: series.attributes.seriesInstanceUID,
                                                     seriesDescription: series.attributes.seriesDescription, reason: error.description))
                }
            }
        }
        let reportPath = (outputFolder as NSString).appendingPathComponent("conversion-report.json")
        do {
            try writeJSON(report, to: reportPath)
        } catch let error as CocoaError {
            throw ConversionOutputError(action: "write", path: reportPath, error)
        }
        return report
    }

    /// Writes one assembled series as .nii.gz and its JSON sidecar.
    private static func write(_ series: AssembledSeries, phase: PhaseAssignment?, to outputFolder: String,
                              usedNames: inout Set<String>) throws -> ConversionReport.Converted {
        let name = uniqueName(for: series.attributes, used: &usedNames)
        let volumePath = (outputFolder as NSString).appendingPathComponent(name + ".nii.gz")
        let sidecarPath = (outputFolder as NSString).appendingPathComponent(name + ".json")
        let geometry = series.volume.geometry
        let sidecar = SeriesSidecar(
            seriesInstanceUID: series.attributes.seriesInstanceUID, seriesNumber: series.attributes.seriesNumber,
            seriesDescription: series.attributes.seriesDescription, modality: series.attributes.modality,
            phase: phase?.phase?.rawValue, phaseEvidence: phase?.evidence ?? "", contrastAgent: series.attributes.contrastAgent,
            acquisitionTime: series.attributes.acquisitionTime,
            size: [geometry.size.x, geometry.size.y, geometry.size.z],
            spacing: [geometry.spacing.x, geometry.spacing.y, geometry.spacing.z],
            originLPS: [geometry.origin.x, geometry.origin.y, geometry.origin.z],
            directionLPS: geometry.direction.columns.map { [$0.x, $0.y, $0.z] },
            sliceCount: series.sliceCount, warnings: series.warnings)
        try NIfTIWriter.write(series.volume, to: volumePath, description: String((series.attributes.seriesDescription ?? "").prefix(79)))
        try writeJSON(sidecar, to: sidecarPath)
        return .init(seriesInstanceUID: series.attributes.seriesInstanceUID, volumePath: volumePath,
                     sidecarPath: sidecarPath, warnings: series.warnings)
    }

    /// Builds a file name from Series Number and Series Description, letters, digits and '-' only.
    private static func uniqueName(for attributes: SeriesAttributes, used: inout Set<String>) -> String {
        let description = (attributes.seriesDescription ?? "series").map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }
        var base = String(format: "%03d_", attributes.seriesNumber ?? 0) + String(description.prefix(60))
        if base.hasSuffix("_") { base.removeLast() }
        var name = base
        var counter = 2
        while used.contains(name) {
            name = "\(base)_\(counter)"
            counter += 1
        }
        used.insert(name)
        return name
    }

    private static func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(value).write(to: URL(fileURLWithPath: path))
    }
}

/// An output of `SeriesConverter` that the file system rejected, with the operating system's reason.
public struct ConversionOutputError: Error, CustomStringConvertible, Sendable {
    /// The failed step, such as "create the output folder".
    public let action: String
    public let path: String
    /// The cause, such as "No such file or directory".
    public let reason: String

    public var description: String { "cannot \(action) \(path): \(reason)" }

    init(action: String, path: String, _ error: CocoaError) {
        self.action = action
        self.path = path
        let underlying = error.underlying as NSError?
        if error.code == .fileWriteFileExists {
            reason = "a file of that name exists"
        } else if let underlying, underlying.domain == NSPOSIXErrorDomain {
            reason = String(cString: strerror(Int32(underlying.code)))
        } else {
            reason = "Foundation error \(error.code.rawValue)"
        }
    }
}
