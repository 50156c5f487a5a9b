// Every DICOM fixture decodes to the stored values pydicom 3.0.2 decoded (REFERENCE.json), or fails
// with a message naming the file and the reason.
import Foundation
import Testing
@testable import Imaging

struct DicomFixtureTests {
    static let cases: [String] = {
        var names: [String] = []
        for folder in ["pydicom", "transfer-syntaxes"] {
            let reference = (try? Fixtures.reference(folder)) ?? [:]
            names += reference.keys.sorted().map { "\(folder)/\($0)" }
        }
        return names
    }()

    /// SHA-256 values that replace REFERENCE.json's for lossy fixtures whose reference decoder
    /// rounds differently. pydicom decoded JPGExtended.dcm with pylibjpeg-libjpeg 2.5 (Thomas
    /// Richter's libjpeg), and this project's 12-bit decoder uses the IJG 6b integer IDCT: 3612 of
    /// its 262144 samples differ by 1 (pydicom 3.0.2 against DCMTK 3.6.7 dcmdjpeg). The value
    /// here is the SHA-256 of dcmdjpeg's output, and minimum and maximum still come from REFERENCE.json.
    static let ijgReferences: [String: String] = [
        "pydicom/JPGExtended.dcm": "d30242775a414c01d616447854ebe3f2b20259822894bcd6891f879bcdcbf313",
    ]

    @Test func everyReferenceEntryIsTested() {
        // 21 pydicom files and 9 transfer syntax files, so a missing REFERENCE.json cannot pass silently.
        #expect(Self.cases.count == 30)
    }

    @Test("fixture decodes to pydicom's stored values", arguments: cases)
    func fixtureMatchesReference(name: String) throws {
        let folder = String(name.prefix { $0 != "/" })
        let fileName = String(name.dropFirst(folder.count + 1))
        let path = Fixtures.path(name)
        let expected = try #require(try Fixtures.reference(folder)[fileName])

        if expected["error"] != nil {
            let error = try #require(throws: DicomError.self) { try DicomFile(contentsOf: path).storedPixels() }
            #expect(error.description.contains(path))
            return
        }
        if fileName == "ExplVR_LitEndNoMeta.dcm" {
            let file = try DicomFile(contentsOf: path)
            #expect(!file.dataSet.elements.isEmpty)
            let error = try #require(throws: DicomError.self) { try file.storedPixels() }
            #expect(error.description.contains("Pixel Data is missing"))
            #expect(error.offset == 434)
            return
        }
        if fileName == "no_meta.dcm" {
            // The file starts with one stray byte (0x20) before (0008,0005), so no element starts at offset 0.
            let error = try #require(throws: DicomError.self) { try DicomFile(contentsOf: path) }
            #expect(error.description.contains(path))
            #expect(error.offset == 0)
            return
        }

        let uid = try #require(expected["transfer_syntax"] as? String)
        #expect(PixelDecoders.all.contains { $0.transferSyntaxUIDs.contains(uid) }, "transfer syntax \(uid) has no decoder")

        let file = try DicomFile(contentsOf: path)
        #expect(file.transferSyntax.uid == uid)
        let pixels = try file.storedPixels()
        let shape = try #require(expected["shape"] as? [Int])
        let description = pixels.description
        let decodedShape = description.numberOfFrames > 1 || shape.count == 3
            ? [description.numberOfFrames, description.rows, description.columns]
            : [description.rows, description.columns]
        #expect(decodedShape == shape)
        if let ijgSHA256 = Self.ijgReferences[name] {
            #expect(sha256Hex(Array(pixels.bytes)) == ijgSHA256)
            let values = Array(pixels.bytes).withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) }
            #expect(values.min().map(Int.init) == expected["min"] as? Int)
            #expect(values.max().map(Int.init) == expected["max"] as? Int)
            return
        }
        #expect(sha256Hex(Array(pixels.bytes)) == expected["sha256_le"] as? String)
    }
}
