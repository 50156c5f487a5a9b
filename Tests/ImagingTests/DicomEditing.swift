// Byte-level edits of top-level DICOM elements, to build series variants at test time.
import Foundation
@testable import Imaging

/// A DICOM file's bytes with its top-level elements located by this module's parser.
struct EditableDicom {
    var bytes: [UInt8]

    init(path: String) throws {
        bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Finds the byte range of a top-level element, header included.
    private func range(of tag: DicomTag) throws -> (range: Range<Int>, file: DicomFile)? {
        let file = try DicomFile(bytes: bytes, path: "edit")
        guard let element = file.dataSet[tag] else { return nil }
        var headerLength = 8
        if file.transferSyntax.isExplicitVR && element.vr.hasLongLength { headerLength = 12 }
        return (element.offset..<(element.offset + headerLength + element.bytes.count), file)
    }

    /// Removes a top-level element.
    mutating func remove(_ tag: DicomTag) throws {
        guard let (range, _) = try range(of: tag) else { return }
        bytes.removeSubrange(range)
    }

    /// Replaces (or inserts before Pixel Data) a top-level text element's value.
    mutating func setText(_ tag: DicomTag, vr: String, _ text: String) throws {
        var value = Array(text.utf8)
        if value.count % 2 == 1 { value.append(UInt8(ascii: " ")) }
        let file = try DicomFile(bytes: bytes, path: "edit")
        var element: [UInt8] = []
        withUnsafeBytes(of: tag.group.littleEndian) { element += $0 }
        withUnsafeBytes(of: tag.element.littleEndian) { element += $0 }
        if file.transferSyntax.isExplicitVR {
            element += Array(vr.utf8)
            withUnsafeBytes(of: UInt16(value.count).littleEndian) { element += $0 }
        } else {
            withUnsafeBytes(of: UInt32(value.count).littleEndian) { element += $0 }
        }
        element += value
        if let (range, _) = try range(of: tag) {
            bytes.replaceSubrange(range, with: element)
        } else {
            let next = file.dataSet.elements.values.filter { $0.tag > tag }.map(\.offset).min() ?? bytes.count
            bytes.insert(contentsOf: element, at: next)
        }
    }

    func write(to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}
