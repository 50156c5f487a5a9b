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

    @Test func truncationAtEveryLengthNeverCrashes() throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.source)))
        let folder = try makeTemporaryFolder("truncated")
        var failures = 0
        for length in stride(from: 0, to: bytes.count, by: 37) {
            let path = folder.appendingPathComponent("cut-\(length).dcm").path
            do {
                _ = try DicomFile(bytes: Array(bytes.prefix(length)), path: path).storedPixels()
                Issue.record("a file cut to \(length) of \(bytes.count) bytes decoded without an error")
            } catch let error as DicomError {
                #expect(error.file.hasPrefix(path))
                failures += 1
            }
        }
        #expect(failures == (bytes.count + 36) / 37)
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

    @Test func notDicomIsRejected() throws {
        let path = try Self.write(Array("plain text, not an image\n".utf8), "notes.txt")
        let error = try #require(throws: DicomError.self) { try DicomFile(contentsOf: path) }
        #expect(error.description.contains("not a DICOM file"))
    }
}
