// Converting a folder with two series, a multi-frame file without geometry and a text file.
import Foundation
import Testing
@testable import Imaging

struct SeriesConverterTests {
    @Test func folderConvertsWithSidecarsAndReport() throws {
        let root = try makeTemporaryFolder("convert")
        let input = root.appendingPathComponent("in").path
        let output = root.appendingPathComponent("out").path
        try FileManager.default.createDirectory(atPath: input, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Fixtures.path("simpleitk-series"), toPath: input + "/oblique")
        try FileManager.default.copyItem(atPath: Fixtures.path("pydicom/emri_small.dcm"), toPath: input + "/emri_small.dcm")
        let attributes = CTSeriesAttributes(patientName: "PHANTOM^ONE", patientID: "PH-0001", seriesNumber: 7,
                                            seriesDescription: "Leber arteriell", contrastAgent: "IOMEPROL")
        try CTSeriesWriter.write(CTSeriesWriterTests.volume, attributes: attributes, to: input + "/ct")

        let report = try SeriesConverter.convert(folder: input, to: output)

        #expect(report.converted.count == 2)
        #expect(report.failedSeries.isEmpty)
        let skippedNames = report.skippedFiles.map { URL(fileURLWithPath: $0.path).lastPathComponent }.sorted()
        #expect(skippedNames == ["emri_small.dcm", "make_series.py", "simpleitk-reading.txt"])
        let emri = try #require(report.skippedFiles.first { $0.path.hasSuffix("emri_small.dcm") })
        #expect(emri.reason.contains("10 frames without functional groups"))

        let ct = try #require(report.converted.first { $0.volumePath.hasSuffix("007_Leber_arteriell.nii.gz") })
        let volume = try NIfTIImage(contentsOf: ct.volumePath).volume()
        #expect(volume.voxels == CTSeriesWriterTests.volume.voxels)
        let sidecar = try JSONDecoder().decode(SeriesSidecar.self, from: Data(contentsOf: URL(fileURLWithPath: ct.sidecarPath)))
        #expect(sidecar.phase == "AP")
        #expect(sidecar.seriesDescription == "Leber arteriell")
        #expect(sidecar.spacing.count == 3)
        for (value, expected) in zip(sidecar.spacing, [0.7, 0.65, 2.5]) { #expect(abs(value - expected) < 1e-6) }
        #expect(sidecar.warnings.isEmpty)

        let oblique = try #require(report.converted.first { $0.volumePath != ct.volumePath })
        let obliqueSidecar = try JSONDecoder().decode(SeriesSidecar.self, from: Data(contentsOf: URL(fileURLWithPath: oblique.sidecarPath)))
        #expect(obliqueSidecar.phase == "NC")
        #expect(obliqueSidecar.size == [16, 12, 6])
        #expect(FileManager.default.fileExists(atPath: output + "/conversion-report.json"))
    }

    @Test func mixedOrientationSeriesSplitsIntoStacks() throws {
        let root = try makeTemporaryFolder("convert-split")
        let input = root.appendingPathComponent("in").path
        let output = root.appendingPathComponent("out").path
        // Slices 0-3 keep the oblique orientation; slices 4 and 5 become axial, at their own positions.
        let folder = try SeriesAssemblyTests.variant("split-source") { index, file in
            if index >= 4 {
                try file.setText(.imageOrientationPatient, vr: "DS", "1\\0\\0\\0\\1\\0")
                try file.setText(.imagePositionPatient, vr: "DS", "0\\0\\\(index * 3)")
            }
            return "s\(index)"
        }
        try FileManager.default.copyItem(atPath: folder, toPath: input)

        let report = try SeriesConverter.convert(folder: input, to: output)

        #expect(report.failedSeries.isEmpty)
        #expect(report.converted.count == 2)
        let sizes = try report.converted.map { try NIfTIImage(contentsOf: $0.volumePath).geometry.size.z }
        #expect(sizes == [4, 2])
        #expect(report.converted.allSatisfy { $0.warnings.contains { $0.contains("series split into 2 stacks") } })
    }
}
