// What the scanner makes of files that are not slices of a CT or MR volume.
import Foundation
import Testing
@testable import Imaging

struct SeriesScannerTests {
    /// DICOM objects that are not CT or MR slices are kept apart from damaged files, which may
    /// take a slice of some series with them, and from files that are not DICOM.
    @Test func skippedFilesSortedByKind() throws {
        let folder = try makeTemporaryFolder("scan-kinds")
        defer { try? FileManager.default.removeItem(at: folder) }
        let expected: [String: SkippedFile.Kind] = [
            "ExplVR_LitEndNoMeta.dcm": .notASlice,  // an RT plan: no pixels
            "JPEG-LL.dcm": .notASlice,  // Secondary Capture without Image Position (Patient)
            "liver_1frame.dcm": .notASlice,  // a segmentation
            "emri_small.dcm": .damaged,  // Enhanced MR whose frames cannot be placed
            "no_meta.dcm": .damaged,  // named .dcm, but no data element at its start
            "LICENSE-pydicom-data": .notDicom,
            "CT_small.dcm": .damaged,  // cut inside its header below
        ]
        for name in expected.keys {
            try FileManager.default.copyItem(atPath: Fixtures.path("pydicom/\(name)"), toPath: folder.appendingPathComponent(name).path)
        }
        let cut = folder.appendingPathComponent("CT_small.dcm")
        try Data(contentsOf: cut).prefix(400).write(to: cut)

        let scan = try SeriesScanner.scan(folder.path)
        #expect(scan.series.isEmpty)
        let kinds = Dictionary(uniqueKeysWithValues: scan.skipped.map { (URL(fileURLWithPath: $0.path).lastPathComponent, $0.kind) })
        #expect(kinds == expected)
        let capture = try #require(scan.skipped.first { $0.path.hasSuffix("JPEG-LL.dcm") })
        #expect(capture.reason.hasSuffix("(SOP Class UID 1.2.840.10008.5.1.4.1.1.7, not a CT or MR image)"), "\(capture.reason)")
    }
}
