// `stdnet convert`: DICOM folder tree to NIfTI volumes with JSON sidecars.
import Foundation
import Imaging

struct ConvertCommand: Command {
    static let name = "convert"
    static let summary = "convert every DICOM series in a folder to .nii.gz with a JSON sidecar"
    static let usage = """
    usage: stdnet convert DICOM_FOLDER OUT_DIR [--reject-irregular] [--phase SERIES=PHASE,...]

    Writes one .nii.gz and one .json sidecar (description, phase, spacing, warnings) per series
    found under DICOM_FOLDER, and OUT_DIR/conversion-report.json listing what was skipped and why.

    options:
      --reject-irregular      reject series with missing slices, uneven spacing or gantry tilt
                              instead of resampling them onto a regular grid
      --phase SERIES=PHASE    set the phase (NC, AP, PV or DP) of a series, given by Series Number
                              or Series Instance UID; comma-separated for several; overrides every hint
    """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        let reject = try arguments.flag("reject-irregular")
        // A folder may hold several studies, whose series can share a phase.
        let mapping = try arguments.option("phase").map { try parsePhaseMapping($0, sharedPhases: true) } ?? [:]
        let positionals = try arguments.positionals()
        guard positionals.count == 2 else { throw UsageError("expected DICOM_FOLDER and OUT_DIR, got \(positionals.count) argument(s)") }

        let options = SeriesAssemblyOptions(irregularSlices: reject ? .reject : .resample)
        let report = try SeriesConverter.convert(folder: positionals[0], to: positionals[1], options: options, phaseMapping: mapping)
        for converted in report.converted {
            print("converted \(converted.volumePath)" + (converted.warnings.isEmpty ? "" : " warnings=\(converted.warnings.count)"))
            for warning in converted.warnings { print("  warning: \(warning)") }
        }
        for failed in report.failedSeries {
            print("failed series \(failed.seriesInstanceUID): \(failed.reason)")
        }
        for skipped in report.skippedFiles {
            print("skipped \(skipped.path): \(skipped.reason)")
        }
        print("converted=\(report.converted.count) failed=\(report.failedSeries.count) skipped_files=\(report.skippedFiles.count)")
        if report.converted.isEmpty {
            if report.failedSeries.isEmpty {
                print("nothing converted: no DICOM image series found under \(positionals[0])")
            } else {
                print("nothing converted: the \(report.failedSeries.count) series found under \(positionals[0]) failed to convert (see the reasons above)")
            }
            return 1
        }
        return report.failedSeries.isEmpty ? 0 : 1
    }
}
