// A hand-built two-frame RLE file whose frames span two fragments each, so only an offset table
// locates the second frame.
import Foundation
import Testing
@testable import Imaging

struct OffsetTableTests {
    /// Encodes one RLE frame of a 2 x 2 8-bit image as two fragments: a 64-byte header with one
    /// segment at offset 64, then a literal run of four bytes (control byte 3) padded to even length.
    static func rleFragments(_ pixels: [UInt8]) -> [[UInt8]] {
        var header = [UInt8](repeating: 0, count: 64)
        header[0] = 1
        header[4] = 64
        return [header, [3] + pixels + [0x80]]
    }

    static func file(basicOffsets: [UInt32], extendedOffsets: [UInt64]?) -> [UInt8] {
        var meta = DataSetEncoder()
        meta.element(.fileMetaInformationVersion, .OB, [0, 1])
        meta.text(.transferSyntaxUID, .UI, TransferSyntax.rleLossless.uid)
        var group = DataSetEncoder()
        group.unsignedLong(.fileMetaInformationGroupLength, UInt32(meta.bytes.count))

        var dataSet = DataSetEncoder()
        dataSet.unsignedShort(.samplesPerPixel, 1)
        dataSet.text(.photometricInterpretation, .CS, "MONOCHROME2")
        dataSet.text(.numberOfFrames, .IS, "2")
        dataSet.unsignedShort(.rows, 2)
        dataSet.unsignedShort(.columns, 2)
        dataSet.unsignedShort(.bitsAllocated, 8)
        dataSet.unsignedShort(.bitsStored, 8)
        dataSet.unsignedShort(.highBit, 7)
        dataSet.unsignedShort(.pixelRepresentation, 0)
        if let extendedOffsets {
            dataSet.element(.extendedOffsetTable, .OV, extendedOffsets.flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } })
        }

        func item(_ value: [UInt8]) -> [UInt8] {
            [0xFE, 0xFF, 0x00, 0xE0] + withUnsafeBytes(of: UInt32(value.count).littleEndian) { Array($0) } + value
        }
        var pixelData: [UInt8] = [0xE0, 0x7F, 0x10, 0x00] + Array("OB".utf8) + [0, 0, 0xFF, 0xFF, 0xFF, 0xFF]
        pixelData += item(basicOffsets.flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } })
        for fragment in rleFragments([1, 2, 3, 4]) + rleFragments([5, 6, 7, 8]) { pixelData += item(fragment) }
        pixelData += [0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]

        return [UInt8](repeating: 0, count: 128) + Array("DICM".utf8) + group.bytes + meta.bytes + dataSet.bytes + pixelData
    }

    /// Item offsets of the frames' first fragments: 0, and 72 + 14 = 86 after two items of 64 and 6 bytes.
    static let frameOffsets = [0, 86]

    @Test func basicOffsetTableSplitsFrames() throws {
        let bytes = Self.file(basicOffsets: Self.frameOffsets.map(UInt32.init), extendedOffsets: nil)
        let pixels = try DicomFile(bytes: bytes, path: "bot.dcm").storedPixels()
        #expect(Array(pixels.bytes) == [1, 2, 3, 4, 5, 6, 7, 8])
    }

    @Test func extendedOffsetTableSplitsFrames() throws {
        let bytes = Self.file(basicOffsets: [], extendedOffsets: Self.frameOffsets.map(UInt64.init))
        let pixels = try DicomFile(bytes: bytes, path: "eot.dcm").storedPixels()
        #expect(Array(pixels.bytes) == [1, 2, 3, 4, 5, 6, 7, 8])
    }

    @Test func framesWithoutOffsetTableAreRejected() throws {
        let bytes = Self.file(basicOffsets: [], extendedOffsets: nil)
        let error = try #require(throws: DicomError.self) { try DicomFile(bytes: bytes, path: "none.dcm").storedPixels() }
        #expect(error.reason.contains("2 frames in 4 fragments"))
    }
}
