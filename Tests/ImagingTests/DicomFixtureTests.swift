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
        #expect(sha256Hex(Array(pixels.bytes)) == expected["sha256_le"] as? String)

        // Sum, minimum and maximum show the size of a SHA-256 mismatch. A rounding difference of 1
        // in a few samples, as from a lossy decoder with another IDCT, moves the sum only slightly.
        let values = try DecodedValues(path).values
        #expect(values.reduce(0, +) == expected["sum"] as? Int)
        #expect(values.min() == expected["min"] as? Int)
        #expect(values.max() == expected["max"] as? Int)
    }
}
