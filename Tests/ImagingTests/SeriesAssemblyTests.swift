// A small oblique series written by SimpleITK (GDCM), assembled as it is and in variants built at
// test time. The variants are shuffled and renamed files, Instance Numbers removed or scrambled,
// a missing slice, a duplicated file, uneven spacing, gantry tilt and mixed orientations.
import Foundation
import Testing
@testable import Imaging

struct SeriesAssemblyTests {
    static let source = Fixtures.path("simpleitk-series")
    static let sliceNames = (1...6).map { String(format: "slice%02d.dcm", $0) }
    static let size = VolumeSize(16, 12, 6)

    /// The HU the generator stored at (i, j, k).
    static func expectedValue(_ i: Int, _ j: Int, _ k: Int) -> Float {
        Float(i + 20 * j + 300 * k - 1000)
    }

    /// Copies the series into a new folder through `edit`, which may rename, drop or change files.
    static func variant(_ name: String, _ edit: (Int, inout EditableDicom) throws -> String?) throws -> String {
        let folder = try makeTemporaryFolder(name)
        for (index, sliceName) in sliceNames.enumerated() {
            var file = try EditableDicom(path: source + "/" + sliceName)
            guard let target = try edit(index, &file) else { continue }
            let url = folder.appendingPathComponent(target)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try file.write(to: url.path)
        }
        return folder.path
    }

    static func assertOriginalVolume(_ volume: Volume<Float>) {
        #expect(volume.size == size)
        var mismatches = 0
        for k in 0..<size.z { for j in 0..<size.y { for i in 0..<size.x where volume[i, j, k] != expectedValue(i, j, k) { mismatches += 1 } } }
        #expect(mismatches == 0)
    }

    /// The slice position as the generator wrote it, for edits that move slices.
    static func position(_ k: Double, shift: Vector3 = .zero) -> String {
        let angle = 20 * Double.pi / 180
        let normal = Vector3(sin(angle), 0, cos(angle))
        let point = Vector3(-30.25, 12.5, 101.0) + normal * (2.5 * k) + shift
        return [point.x, point.y, point.z].map { String(format: "%.6f", $0) }.joined(separator: "\\")
    }

    @Test func geometryMatchesSimpleITK() throws {
        let assembled = try SeriesAssembler.loadSeries(folder: Self.source)
        let volume = assembled.volume
        // SimpleITK ImageSeriesReader on the same files (simpleitk-reading.txt).
        let origin = Vector3(-30.25, 12.5, 101.0)
        let spacing = Vector3(0.75, 0.8, 2.5000000593957425)
        let direction = Matrix3(rows: Vector3(0.9396927112094517, 0.0, 0.342019894888923),
                                Vector3(0.0, 1.0, 0.0),
                                Vector3(-0.342019894888923, 0.0, 0.9396927112094517))
        for axis in 0..<3 {
            #expect(abs(volume.origin[axis] - origin[axis]) < 1e-4)
            #expect(abs(volume.spacing[axis] - spacing[axis]) < 1e-4)
            for row in 0..<3 { #expect(abs(volume.direction[row, axis] - direction[row, axis]) < 1e-4) }
        }
        #expect(volume[3, 4, 5] == 583)
        #expect(assembled.warnings.isEmpty)
        Self.assertOriginalVolume(volume)
    }

    @Test func shuffledRenamedFilesAssemble() throws {
        let names = ["z/b.img", "a/0001", "x.dcm", "a/zz", "m/m/1", "c"]
        let folder = try Self.variant("shuffled") { index, _ in names[index] }
        Self.assertOriginalVolume(try SeriesAssembler.loadSeries(folder: folder).volume)
    }

    @Test func instanceNumbersRemovedOrScrambled() throws {
        let removed = try Self.variant("no-instance") { index, file in
            try file.remove(.instanceNumber)
            return "s\(index)"
        }
        Self.assertOriginalVolume(try SeriesAssembler.loadSeries(folder: removed).volume)
        let scrambled = try Self.variant("scrambled") { index, file in
            try file.setText(.instanceNumber, vr: "IS", String([4, 1, 6, 2, 5, 3][index]))
            return "s\(index)"
        }
        Self.assertOriginalVolume(try SeriesAssembler.loadSeries(folder: scrambled).volume)
    }

    @Test func duplicatedFileIsIgnored() throws {
        let folder = try Self.variant("duplicate") { index, _ in "s\(index)" }
        try FileManager.default.copyItem(atPath: folder + "/s2", toPath: folder + "/copy-of-s2")
        let assembled = try SeriesAssembler.loadSeries(folder: folder)
        Self.assertOriginalVolume(assembled.volume)
        #expect(assembled.warnings.count == 1)
        #expect(assembled.warnings.first?.contains("duplicate slice ignored") == true)

        // Copies of every file give one warning that counts them.
        let doubled = try Self.variant("doubled") { index, _ in "s\(index)" }
        for index in 0..<Self.sliceNames.count {
            try FileManager.default.copyItem(atPath: doubled + "/s\(index)", toPath: doubled + "/t\(index)")
        }
        let copies = try SeriesAssembler.loadSeries(folder: doubled)
        Self.assertOriginalVolume(copies.volume)
        #expect(copies.warnings.count == 1)
        #expect(copies.warnings.first?.hasSuffix("(same SOP Instance UID) and 5 more") == true, "\(copies.warnings)")
    }

    @Test func twoImagesAtOnePositionAreRejected() throws {
        let folder = try Self.variant("same-position") { index, file in
            if index == 3 { try file.setText(.imagePositionPatient, vr: "DS", Self.position(2)) }
            return "s\(index)"
        }
        let error = try #require(throws: SeriesError.self) { try SeriesAssembler.loadSeries(folder: folder) }
        #expect(error.reason.contains("two different images at position"))
        #expect(error.reason.contains("/s2"))
        #expect(error.reason.contains("/s3"))
    }

    @Test func missingSliceRejectedOrInterpolated() throws {
        let folder = try Self.variant("missing") { index, _ in index == 2 ? nil : "s\(index)" }
        let error = try #require(throws: SeriesError.self) {
            try SeriesAssembler.loadSeries(folder: folder, options: SeriesAssemblyOptions(irregularSlices: .reject))
        }
        #expect(error.reason.contains("1 slice(s) missing"))

        let assembled = try SeriesAssembler.loadSeries(folder: folder)
        #expect(assembled.volume.size == Self.size)
        #expect(assembled.warnings.contains { $0.contains("1 slice(s) missing") })
        // Slice 2 is the mean of slices 1 and 3, which equals the generator's value for k = 2.
        #expect(abs(assembled.volume[5, 7, 2] - Self.expectedValue(5, 7, 2)) < 1e-3)
        #expect(abs(assembled.volume[5, 7, 3] - Self.expectedValue(5, 7, 3)) < 1e-3)
    }

    @Test func unevenSpacingRejectedOrResampled() throws {
        // Slice 3 moves 1 mm up: gaps 2.5, 2.5, 3.5, 1.5, 2.5.
        let folder = try Self.variant("uneven") { index, file in
            if index == 3 { try file.setText(.imagePositionPatient, vr: "DS", Self.position(3.4)) }
            return "s\(index)"
        }
        let error = try #require(throws: SeriesError.self) {
            try SeriesAssembler.loadSeries(folder: folder, options: SeriesAssemblyOptions(irregularSlices: .reject))
        }
        #expect(error.reason.contains("non-uniform spacing"))

        let volume = try SeriesAssembler.loadSeries(folder: folder).volume
        #expect(volume.size == Self.size)
        #expect(abs(volume.spacing.z - 2.5) < 1e-4)
        // Target k = 3 lies at 7.5 mm, between slice 2 (5 mm) and the moved slice 3 (8.5 mm): weight 2.5 / 3.5.
        let weight: Float = 2.5 / 3.5
        let expected = Self.expectedValue(4, 6, 2) * (1 - weight) + Self.expectedValue(4, 6, 3) * weight
        #expect(abs(volume[4, 6, 3] - expected) < 1e-3)
        #expect(volume[4, 6, 5] == Self.expectedValue(4, 6, 5))
    }

    @Test func gantryTiltRejectedOrCorrected() throws {
        // Slice k moves k pixels (0.75 mm each) along the row direction.
        let angle = 20 * Double.pi / 180
        let row = Vector3(cos(angle), 0, -sin(angle))
        let folder = try Self.variant("tilt") { index, file in
            try file.setText(.imagePositionPatient, vr: "DS", Self.position(Double(index), shift: row * (0.75 * Double(index))))
            return "s\(index)"
        }
        let error = try #require(throws: SeriesError.self) {
            try SeriesAssembler.loadSeries(folder: folder, options: SeriesAssemblyOptions(irregularSlices: .reject))
        }
        #expect(error.reason.contains("gantry tilt"))

        let volume = try SeriesAssembler.loadSeries(folder: folder).volume
        // Output voxel (i, j, k) is slice k's pixel (i - k, j); columns left of k are padding (the minimum).
        #expect(abs(volume[10, 5, 4] - Self.expectedValue(6, 5, 4)) < 1e-3)
        #expect(abs(volume[4, 5, 4] - Self.expectedValue(0, 5, 4)) < 1e-3)
        #expect(volume[3, 5, 4] == Self.expectedValue(0, 0, 0))
    }

    @Test func mixedOrientationsAreRejected() throws {
        let folder = try Self.variant("orientation") { index, file in
            if index == 4 { try file.setText(.imageOrientationPatient, vr: "DS", "1\\0\\0\\0\\1\\0") }
            return "s\(index)"
        }
        let error = try #require(throws: SeriesError.self) { try SeriesAssembler.loadSeries(folder: folder) }
        #expect(error.reason.contains("mixed orientations"))
    }

    /// One slice of another patient or study inside the series is found wherever it sorts, and
    /// the series is not assembled. The message names the files, never the identifying values.
    @Test(arguments: [(0, DicomTag.patientID, "LO", "Patient ID"), (3, .patientID, "LO", "Patient ID"),
                      (5, .studyInstanceUID, "UI", "Study Instance UID")])
    func sliceOfAnotherPatientRejected(index: Int, tag: DicomTag, vr: String, attribute: String) throws {
        let stray = Self.sliceNames[index]
        let folder = try Self.variant("stray-\(index)") { sliceIndex, file in
            if sliceIndex == index { try file.setText(tag, vr: vr, "2.25.999") }
            return Self.sliceNames[sliceIndex]
        }
        let series = try #require(try SeriesScanner.scan(folder).series.first)
        let inconsistency = try #require(series.inconsistency)
        // The odd file is named, wherever it sorts, and no other.
        #expect(inconsistency == "\(folder)/\(stray) has another \(attribute) than the other 5 file(s) of the same series; remove the files that do not belong")
        #expect(!inconsistency.contains("2.25.999"))
        let error = try #require(throws: SeriesError.self) { try SeriesAssembler.loadSeries(folder: folder) }
        #expect(error.reason == inconsistency)
    }

    /// When as many files name one patient as the other, neither side is blamed.
    @Test func seriesSplitEvenlyBetweenPatientsRejected() throws {
        let folder = try Self.variant("split") { index, file in
            if index >= 3 { try file.setText(.patientID, vr: "LO", "OTHER-9") }
            return Self.sliceNames[index]
        }
        let inconsistency = try #require(try SeriesScanner.scan(folder).series.first?.inconsistency)
        #expect(inconsistency == "files of the same series differ in Patient ID, as many on each side (for example \(folder)/slice01.dcm and \(folder)/slice04.dcm); remove the files that do not belong")
    }
}
