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

    /// Fixtures that are expected to fail, with a phrase the message must contain. Debian's
    /// libjpeg-turbo 2.1.5 decodes 8-bit samples only.
    static let expectedFailures: [String: String] = ["pydicom/JPGExtended.dcm": "12-bit samples"]

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
        if let phrase = Self.expectedFailures[name] {
            let error = try #require(throws: DicomError.self) { try DicomFile(contentsOf: path).storedPixels() }
            #expect(error.description.contains(phrase))
            #expect(error.description.contains(path))
            return
        }

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
    }
}
