// Hand-built data sets: undefined-length sequences and items nested two deep, in implicit VR
// little endian and explicit VR big endian, with values worked out by hand.
import Testing
@testable import Imaging

struct DataSetParserTests {
    /// Encodes a tag, little or big endian.
    static func tag(_ group: UInt16, _ element: UInt16, bigEndian: Bool) -> [UInt8] {
        bigEndian ? [UInt8(group >> 8), UInt8(group & 0xFF), UInt8(element >> 8), UInt8(element & 0xFF)]
                  : [UInt8(group & 0xFF), UInt8(group >> 8), UInt8(element & 0xFF), UInt8(element >> 8)]
    }

    static func uint32(_ value: UInt32, bigEndian: Bool) -> [UInt8] {
        let bytes = [UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF), UInt8((value >> 16) & 0xFF), UInt8(value >> 24)]
        return bigEndian ? bytes.reversed() : bytes
    }

    static let undefined: UInt32 = 0xFFFF_FFFF

    @Test func implicitNestedUndefinedLengths() throws {
        // (5200,9229) SQ, undefined length -> item, undefined length -> (0028,9110) SQ, undefined
        // length -> item of defined length containing (0028,0030) "0.5\0.25" -> delimiters.
        let spacing = Array("0.5\\0.25".utf8)
        let innerItem = Self.tag(0x0028, 0x0030, bigEndian: false) + Self.uint32(UInt32(spacing.count), bigEndian: false) + spacing
        var bytes: [UInt8] = []
        bytes += Self.tag(0x5200, 0x9229, bigEndian: false) + Self.uint32(Self.undefined, bigEndian: false)
        bytes += Self.tag(0xFFFE, 0xE000, bigEndian: false) + Self.uint32(Self.undefined, bigEndian: false)
        bytes += Self.tag(0x0028, 0x9110, bigEndian: false) + Self.uint32(Self.undefined, bigEndian: false)
        bytes += Self.tag(0xFFFE, 0xE000, bigEndian: false) + Self.uint32(UInt32(innerItem.count), bigEndian: false) + innerItem
        bytes += Self.tag(0xFFFE, 0xE0DD, bigEndian: false) + Self.uint32(0, bigEndian: false)
        bytes += Self.tag(0xFFFE, 0xE00D, bigEndian: false) + Self.uint32(0, bigEndian: false)
        bytes += Self.tag(0xFFFE, 0xE0DD, bigEndian: false) + Self.uint32(0, bigEndian: false)
        // (0028,0010) Rows, US, value 300 = 0x012C.
        bytes += Self.tag(0x0028, 0x0010, bigEndian: false) + Self.uint32(2, bigEndian: false) + [0x2C, 0x01]

        let parser = DataSetParser(bytes: bytes, file: "hand-built", isExplicitVR: false, isBigEndian: false)
        let (dataSet, end, _) = try parser.parse(from: 0, to: bytes.count)
        #expect(end == bytes.count)
        #expect(try dataSet.integer(.rows) == 300)
        let shared = dataSet.sequence(.sharedFunctionalGroupsSequence)
        #expect(shared.count == 1)
        let measures = try #require(shared.first).sequence(.pixelMeasuresSequence)
        #expect(try measures.first?.doubles(.pixelSpacing) == [0.5, 0.25])
    }

    @Test func explicitBigEndianValues() throws {
        // (0028,0010) US 2 bytes = 512 (0x0200) and (0018,0050) DS "2.5 " in a sequence item of defined length.
        let thickness = Array("2.5 ".utf8)
        let element = Self.tag(0x0018, 0x0050, bigEndian: true) + Array("DS".utf8) + [0, UInt8(thickness.count)] + thickness
        let item = Self.tag(0xFFFE, 0xE000, bigEndian: true) + Self.uint32(UInt32(element.count), bigEndian: true) + element
        var bytes = Self.tag(0x0008, 0x1140, bigEndian: true) + Array("SQ".utf8) + [0, 0] + Self.uint32(UInt32(item.count), bigEndian: true) + item
        bytes += Self.tag(0x0028, 0x0010, bigEndian: true) + Array("US".utf8) + [0, 2] + [0x02, 0x00]

        let parser = DataSetParser(bytes: bytes, file: "hand-built", isExplicitVR: true, isBigEndian: true)
        let (dataSet, _, _) = try parser.parse(from: 0, to: bytes.count)
        #expect(try dataSet.integer(.rows) == 512)
        #expect(try dataSet.sequence(DicomTag(0x0008, 0x1140)).first?.double(.sliceThickness) == 2.5)
    }

    @Test func missingSequenceDelimiterNamesOffset() throws {
        var bytes = Self.tag(0x5200, 0x9229, bigEndian: false) + Self.uint32(Self.undefined, bigEndian: false)
        bytes += Self.tag(0xFFFE, 0xE000, bigEndian: false) + Self.uint32(0, bigEndian: false)
        let parser = DataSetParser(bytes: bytes, file: "hand-built", isExplicitVR: false, isBigEndian: false)
        let error = try #require(throws: DicomError.self) { try parser.parse(from: 0, to: bytes.count) }
        #expect(error.tag == .sharedFunctionalGroupsSequence)
        #expect(error.offset == 16)
        #expect(error.reason.contains("no sequence delimitation"))
    }

    @Test func deeplyNestedSequencesAreRejected() throws {
        var bytes: [UInt8] = []
        for _ in 0..<40 {
            bytes += Self.tag(0x5200, 0x9229, bigEndian: false) + Self.uint32(Self.undefined, bigEndian: false)
            bytes += Self.tag(0xFFFE, 0xE000, bigEndian: false) + Self.uint32(Self.undefined, bigEndian: false)
        }
        let parser = DataSetParser(bytes: bytes, file: "hand-built", isExplicitVR: false, isBigEndian: false)
        let error = try #require(throws: DicomError.self) { try parser.parse(from: 0, to: bytes.count) }
        #expect(error.reason.contains("nested deeper than 32"))
    }
}
