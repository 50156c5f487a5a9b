// Truncated and corrupted codestreams must fail with an error or decode to a full frame, never
// crash or return a partial image silently.
import Foundation
import Testing
@testable import Imaging

struct CodestreamRobustnessTests {
    /// Compressed fixtures, one per codec and sample layout.
    static let sources = ["JPEG-LL.dcm", "JPGLosslessP14SV1_1s_1f_8b.dcm", "JPGExtended.dcm", "JPEG2000.dcm",
                          "MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm"]

    /// Returns the first frame's codestream and the layout of a fixture.
    static func firstFrame(_ name: String) throws -> (bytes: [UInt8], description: PixelDescription, uid: String) {
        let file = try DicomFile(contentsOf: Fixtures.path("pydicom/" + name))
        guard case .encapsulated(let pixelData) = try #require(file.dataSet[.pixelData]).value else {
            throw ExternalTool.ToolFailure(message: "\(name) has no encapsulated pixel data")
        }
        let bytes = pixelData.fragments.reduce(into: [UInt8]()) { $0.append(contentsOf: $1) }
        return (bytes, try PixelDescription(file.dataSet), file.transferSyntax.uid)
    }

    /// Decodes one frame with the decoder for `uid` and returns its sample count.
    static func decodeFrame(_ bytes: [UInt8], description: PixelDescription, uid: String) throws -> Int {
        switch uid {
        case "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70":
            return try JPEGLosslessImage(bytes).samples.count
        case "1.2.840.10008.1.2.4.51":
            return try JPEGSequentialDCTImage(bytes).samples.count
        case "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81":
            return try JPEGLSDecoder.decodeFrame(bytes, description: description).count
        default:
            return try JPEG2000Decoder.decodeFrame(bytes, description: description).count
        }
    }

    @Test("truncated codestream fails", arguments: sources)
    func truncatedCodestreamFails(name: String) throws {
        let frame = try Self.firstFrame(name)
        #expect(try Self.decodeFrame(frame.bytes, description: frame.description, uid: frame.uid) == frame.description.samplesPerFrame)
        // Cuts end at least 16 bytes before the end, so they remove coded data and not only the end marker.
        let end = frame.bytes.count - 16
        for length in stride(from: 0, to: end, by: max(end / 25, 1)) {
            do {
                let count = try Self.decodeFrame(Array(frame.bytes.prefix(length)), description: frame.description, uid: frame.uid)
                Issue.record("\(name) cut to \(length) of \(frame.bytes.count) bytes decoded to \(count) samples without an error")
            } catch is CodestreamError {
            }
        }
    }

    @Test("corrupted codestream never crashes", arguments: sources)
    func corruptedCodestreamNeverCrashes(name: String) throws {
        let frame = try Self.firstFrame(name)
        var generator = DicomFuzzTests.SplitMix64(state: UInt64(name.utf8.reduce(0) { $0 &* 31 &+ UInt64($1) }))
        for _ in 0..<50 {
            var bytes = frame.bytes
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                // Half of the corruptions hit the first 600 bytes, where the marker segments are.
                let limit = Bool.random(using: &generator) ? min(600, bytes.count) : bytes.count
                bytes[Int.random(in: 0..<limit, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            do {
                let count = try Self.decodeFrame(bytes, description: frame.description, uid: frame.uid)
                #expect(count == frame.description.samplesPerFrame)
            } catch is CodestreamError {
            }
        }
    }
}

struct JPEG2000HeaderTests {
    @Test func componentTransformFlagIsRead() throws {
        let frame = try CodestreamRobustnessTests.firstFrame("MR_small_jp2klossless.dcm")
        #expect(try JPEG2000Decoder.checkMarkerSegments(frame.bytes, isJP2: false) == false)

        // Set MCT, the last byte of SGcod, 8 bytes after the COD marker.
        var bytes = frame.bytes
        let cod = try #require((0..<(bytes.count - 1)).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0x52 })
        bytes[cod + 8] = 1
        #expect(try JPEG2000Decoder.checkMarkerSegments(bytes, isJP2: false) == true)
    }

    @Test func ybrWithoutTransformFails() throws {
        let frame = try CodestreamRobustnessTests.firstFrame("MR_small_jp2klossless.dcm")
        var description = frame.description
        description.photometricInterpretation = "YBR_RCT"
        let error = try #require(throws: CodestreamError.self) {
            try JPEG2000Decoder.decodeFrame(frame.bytes, description: description)
        }
        #expect(error.reason.contains("no multiple-component transform"))
    }
}
