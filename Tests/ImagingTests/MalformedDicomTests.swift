// Truncated files, wrong lengths and invalid VRs fail with errors naming the file and the offset.
import Foundation
import Testing
@testable import Imaging

struct MalformedDicomTests {
    static let source = Fixtures.path("pydicom/MR_small.dcm")

    static func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let folder = try makeTemporaryFolder("malformed")
        let path = folder.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Files in each encoding: explicit and implicit VR little endian, explicit VR big endian,
    /// deflated, RLE Lossless and enhanced multi-frame.
    static let truncationSources = ["MR_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm", "image_dfl.dcm",
                                    "MR_small_RLE.dcm", "emri_small.dcm"]

    @Test("truncation fails with file name", arguments: truncationSources)
    func truncationFailsWithFileName(name: String) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("pydicom/" + name))))
        // A cut after the pixel data (in trailing padding) may leave a complete image, so cuts stop there.
        let file = try DicomFile(bytes: bytes, path: name)
        let end = file.dataSet.elements.values.filter { $0.tag > .pixelData }.map(\.offset).min() ?? bytes.count
        let step = max(end / 150, 1)
        var failures = 0
        var cuts = 0
        for length in stride(from: 0, to: end, by: step) {
            cuts += 1
            let path = "/data/\(name)-cut-\(length)"
            do {
                _ = try DicomFile(bytes: Array(bytes.prefix(length)), path: path).storedPixels()
                Issue.record("a file cut to \(length) of \(bytes.count) bytes decoded without an error")
            } catch let error as DicomError {
                #expect(error.file.hasPrefix(path))
                // Only an attribute that is absent has no offset to point at.
                #expect(error.offset != nil || error.reason.contains("missing"), "\(error)")
                failures += 1
            }
        }
        #expect(failures == cuts)
    }

    @Test func truncatedPixelDataNamesOffset() throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.source)))
        let file = try DicomFile(bytes: bytes, path: "x")
        let pixelOffset = try #require(file.dataSet[.pixelData]).offset
        let path = try Self.write(Array(bytes.prefix(pixelOffset + 500)), "short-pixels.dcm")
        let error = try #require(throws: DicomError.self) { try DicomFile(contentsOf: path).storedPixels() }
        #expect(error.offset == pixelOffset)
        #expect(error.tag == .pixelData)
        #expect(error.description.contains(path))
    }

    @Test func invalidVRNamesOffsetAndTag() throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.source)))
        let rowsOffset = try #require(try DicomFile(bytes: bytes, path: "x").dataSet[.rows]).offset
        bytes[rowsOffset + 4] = UInt8(ascii: "z")
        bytes[rowsOffset + 5] = UInt8(ascii: "q")
        let path = try Self.write(bytes, "bad-vr.dcm")
        let error = try #require(throws: DicomError.self) { try DicomFile(contentsOf: path) }
        #expect(error.offset == rowsOffset)
        #expect(error.tag == .rows)
        #expect(error.reason.contains("invalid VR"))
        #expect(error.description.contains(path))
    }

    @Test func lengthPastEndNamesOffsetAndTag() throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.source)))
        let rowsOffset = try #require(try DicomFile(bytes: bytes, path: "x").dataSet[.rows]).offset
        bytes[rowsOffset + 6] = 0xF0
        bytes[rowsOffset + 7] = 0xFF
        let path = try Self.write(bytes, "long-length.dcm")
        let error = try #require(throws: DicomError.self) { try DicomFile(contentsOf: path) }
        #expect(error.offset == rowsOffset)
        #expect(error.tag == .rows)
        #expect(error.reason.contains("value length 65520"))
    }

    @Test func hugeFrameCountIsRejected() throws {
        var file = try EditableDicom(path: Self.source)
        try file.setText(.numberOfFrames, vr: "IS", "999999999999")
        let path = try Self.write(file.bytes, "many-frames.dcm")
        let error = try #require(throws: DicomError.self) { try DicomFile(contentsOf: path).storedPixels() }
        #expect(error.tag == .pixelData)
        #expect(error.reason.contains("999999999999 frame(s)"))
    }

    @Test func notDicomIsRejected() throws {
        let path = try Self.write(Array("plain text, not an image\n".utf8), "notes.txt")
        let error = try #require(throws: DicomError.self) { try DicomFile(contentsOf: path) }
        #expect(error.description.contains("not a DICOM file"))
    }
}
