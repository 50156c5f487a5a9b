// Typed access to attribute values: text, decimal and integer strings, binary numbers, sequences.
import Foundation

extension DataSet {
    /// Returns the text value of an attribute with leading and trailing spaces and NULs removed,
    /// or nil when absent or empty. Multiple values stay joined by backslashes.
    ///
    /// Text is decoded as UTF-8 when Specific Character Set is ISO_IR 192 and as ISO 8859-1
    /// otherwise. NOTE: other character sets (ISO 2022 escapes, GB18030) are read as ISO 8859-1.
    public func string(_ tag: DicomTag) -> String? {
        guard let element = elements[tag], case .bytes(let bytes) = element.value else { return nil }
        let text: String
        if characterSetIsUTF8 {
            text = String(decoding: bytes, as: UTF8.self)
        } else {
            text = String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
        }
        let trimmed = text.trimmingCharacters(in: CharacterSet(charactersIn: " \0"))
        return trimmed.isEmpty ? nil : trimmed
    }

    private var characterSetIsUTF8: Bool {
        guard let element = elements[.specificCharacterSet], case .bytes(let bytes) = element.value else { return false }
        return String(decoding: bytes, as: UTF8.self).contains("ISO_IR 192")
    }

    /// Returns the values of a multi-valued text attribute, split at backslashes and trimmed.
    public func strings(_ tag: DicomTag) -> [String] {
        guard let text = string(tag) else { return [] }
        return text.split(separator: "\\", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " \0")) }
    }

    /// Returns the numeric values of an attribute: DS and IS text, or FL, FD, US, SS, UL, SL binary.
    ///
    /// - throws: `DicomError` naming the tag when a value is not a number.
    public func doubles(_ tag: DicomTag) throws -> [Double] {
        guard let element = elements[tag] else { return [] }
        switch element.vr {
        case .FD: return binaryValues(element, as: UInt64.self).map { Double(bitPattern: $0) }
        case .FL: return binaryValues(element, as: UInt32.self).map { Double(Float(bitPattern: $0)) }
        case .US: return binaryValues(element, as: UInt16.self).map { Double($0) }
        case .SS: return binaryValues(element, as: UInt16.self).map { Double(Int16(bitPattern: $0)) }
        case .UL: return binaryValues(element, as: UInt32.self).map { Double($0) }
        case .SL: return binaryValues(element, as: UInt32.self).map { Double(Int32(bitPattern: $0)) }
        default:
            return try strings(tag).map { text in
                guard let value = Double(text) else {
                    throw DicomError(file: file, offset: element.offset, tag: tag, "value '\(text)' is not a number")
                }
                return value
            }
        }
    }

    /// Returns the first numeric value of an attribute, or nil when absent or empty.
    public func double(_ tag: DicomTag) throws -> Double? {
        try doubles(tag).first
    }

    /// Returns the first value of an integer attribute (IS text or a binary integer), or nil when absent.
    ///
    /// - throws: `DicomError` naming the tag when the value is not an integer.
    public func integer(_ tag: DicomTag) throws -> Int? {
        guard let value = try double(tag) else { return nil }
        guard value == value.rounded(), abs(value) < 1e15 else {
            throw error(tag, "value \(value) is not an integer")
        }
        return Int(value)
    }

    /// Returns the first value of an integer attribute that a valid object must have.
    ///
    /// - throws: `DicomError` naming the tag when it is absent or not an integer.
    public func requiredInteger(_ tag: DicomTag, _ name: String) throws -> Int {
        guard let value = try integer(tag) else {
            throw DicomError(file: file, tag: tag, "\(name) is missing")
        }
        return value
    }

    /// Returns the items of a sequence attribute, or none when it is absent.
    public func sequence(_ tag: DicomTag) -> [DataSet] {
        guard let element = elements[tag], case .sequence(let items) = element.value else { return [] }
        return items
    }

    /// Finds a private attribute through its private creator (PS3.5 7.8.1).
    ///
    /// `tag` gives the group and the low byte of the element; the block comes from the creator.
    func privateElement(_ tag: DicomTag, creator: String) -> DataElement? {
        for block in UInt16(0x10)...UInt16(0xFF) {
            let creatorTag = DicomTag(tag.group, block)
            guard contains(creatorTag) else { continue }
            if string(creatorTag) == creator {
                return elements[DicomTag(tag.group, block << 8 | (tag.element & 0xFF))]
            }
        }
        return nil
    }

    private func binaryValues<T: FixedWidthInteger>(_ element: DataElement, as type: T.Type) -> [T] {
        let bytes = element.bytes
        let width = MemoryLayout<T>.size
        let count = bytes.count / width
        return bytes.withUnsafeBytes { raw in
            (0..<count).map { index in
                let value = raw.loadUnaligned(fromByteOffset: index * width, as: T.self)
                return isBigEndian ? T(bigEndian: value) : T(littleEndian: value)
            }
        }
    }
}
