// Encodes data elements as Explicit VR Little Endian bytes, for the DICOM writer.
import Foundation

/// Appends elements, in ascending tag order, to an explicit VR little endian byte stream.
struct DataSetEncoder {
    private(set) var bytes: [UInt8] = []

    /// Appends a text element, padded to even length with a space (NUL for UI).
    mutating func text(_ tag: DicomTag, _ vr: ValueRepresentation, _ value: String) {
        var value = Array(value.utf8)
        if value.count % 2 == 1 { value.append(vr == .UI ? 0 : UInt8(ascii: " ")) }
        element(tag, vr, value)
    }

    /// Appends a US element with one or more values.
    mutating func unsignedShort(_ tag: DicomTag, _ values: UInt16...) {
        var value: [UInt8] = []
        for number in values { withUnsafeBytes(of: number.littleEndian) { value += $0 } }
        element(tag, .US, value)
    }

    /// Appends a UL element.
    mutating func unsignedLong(_ tag: DicomTag, _ number: UInt32) {
        element(tag, .UL, withUnsafeBytes(of: number.littleEndian) { Array($0) })
    }

    /// Appends an element with its value bytes as given.
    mutating func element(_ tag: DicomTag, _ vr: ValueRepresentation, _ value: [UInt8]) {
        withUnsafeBytes(of: tag.group.littleEndian) { bytes += $0 }
        withUnsafeBytes(of: tag.element.littleEndian) { bytes += $0 }
        bytes += Array(vr.rawValue.utf8)
        if vr.hasLongLength {
            bytes += [0, 0]
            withUnsafeBytes(of: UInt32(value.count).littleEndian) { bytes += $0 }
        } else {
            withUnsafeBytes(of: UInt16(value.count).littleEndian) { bytes += $0 }
        }
        bytes += value
    }
}

/// Formats a number as a DICOM decimal string of at most 16 characters (PS3.5 6.2, VR DS).
func decimalString(_ value: Double) -> String {
    if value == value.rounded() && abs(value) < 1e15 { return String(Int(value)) }
    for precision in stride(from: 10, through: 1, by: -1) {
        var text = String(format: "%.\(precision)f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.count <= 16 { return text }
    }
    return String(format: "%.9e", value)
}
