// Parses the elements of a data set from bytes: explicit or implicit VR, either byte order,
// defined and undefined lengths, nested sequences and encapsulated pixel data (PS3.5 chapter 7).

/// Reads data elements from a byte buffer in one transfer syntax.
struct DataSetParser {
    let bytes: [UInt8]
    let file: String
    let isExplicitVR: Bool
    let isBigEndian: Bool

    /// Sequences nested deeper than this are rejected, so a malicious file cannot exhaust the stack.
    private static let maximumSequenceDepth = 32

    /// Parses elements from `start` until `end`, or until `stopTag` (exclusive) when given.
    ///
    /// - returns: the data set, the position after the last element read, and whether an item
    ///   delimitation ended the data set.
    func parse(from start: Int, to end: Int, stopBefore stopTag: DicomTag? = nil, depth: Int = 0) throws -> (DataSet, Int, Bool) {
        var dataSet = DataSet(file: file, isBigEndian: isBigEndian)
        var position = start
        while position < end {
            let tag = try readTag(at: position, end: end)
            if let stopTag, tag >= stopTag { break }
            if tag == .itemDelimitation {
                guard depth > 0 else {
                    throw error(position, tag, "item delimitation outside a sequence item; the file is corrupt")
                }
                return (dataSet, position + 8, true)
            }
            let element = try readElement(at: &position, end: end, depth: depth)
            dataSet.elements[element.tag] = element
        }
        return (dataSet, position, false)
    }

    // MARK: - Elements

    private func readElement(at position: inout Int, end: Int, depth: Int) throws -> DataElement {
        let start = position
        let tag = try readTag(at: position, end: end)
        var vr: ValueRepresentation
        var length: UInt32
        if isExplicitVR && tag.group != 0xFFFE {
            try require(6, at: position, end: end, tag: tag, what: "an explicit VR element header")
            guard let parsed = ValueRepresentation(bytes: bytes[position + 4], bytes[position + 5]) else {
                throw error(start, tag, "invalid VR bytes 0x\(hexByte(bytes[position + 4]))\(hexByte(bytes[position + 5])); the file is corrupt or its transfer syntax is wrong")
            }
            vr = parsed
            if vr.hasLongLength {
                try require(12, at: position, end: end, tag: tag, what: "an explicit VR element header")
                length = uint32(at: position + 8)
                position += 12
            } else {
                try require(8, at: position, end: end, tag: tag, what: "an explicit VR element header")
                length = UInt32(uint16(at: position + 6))
                position += 8
            }
        } else {
            try require(8, at: position, end: end, tag: tag, what: "an element header")
            vr = ImplicitVRDictionary.vr(for: tag)
            length = uint32(at: position + 4)
            position += 8
        }

        if length == 0xFFFF_FFFF {
            if tag == .pixelData {
                let pixels = try readEncapsulated(at: &position, end: end, tag: tag)
                return DataElement(tag: tag, vr: vr, offset: start, value: .encapsulated(pixels))
            }
            guard vr == .SQ || vr == .UN else {
                throw error(start, tag, "undefined length is not allowed for VR \(vr.rawValue)")
            }
            // An undefined-length UN value is a sequence encoded as implicit VR little endian (PS3.5 6.2.2).
            let itemParser = vr == .UN ? DataSetParser(bytes: bytes, file: file, isExplicitVR: false, isBigEndian: false) : self
            let items = try itemParser.readItems(at: &position, end: end, undefinedLength: true, tag: tag, depth: depth)
            return DataElement(tag: tag, vr: .SQ, offset: start, value: .sequence(items))
        }

        let valueLength = Int(length)
        guard valueLength <= end - position else {
            throw error(start, tag, "value length \(valueLength) exceeds the \(end - position) bytes left; the file is truncated or the length is wrong")
        }
        if vr == .SQ {
            var itemPosition = position
            let items = try readItems(at: &itemPosition, end: position + valueLength, undefinedLength: false, tag: tag, depth: depth)
            position += valueLength
            return DataElement(tag: tag, vr: vr, offset: start, value: .sequence(items))
        }
        let value = bytes[position..<(position + valueLength)]
        position += valueLength
        return DataElement(tag: tag, vr: vr, offset: start, value: .bytes(value))
    }

    // MARK: - Sequences

    private func readItems(at position: inout Int, end: Int, undefinedLength: Bool, tag: DicomTag, depth: Int) throws -> [DataSet] {
        guard depth < Self.maximumSequenceDepth else {
            throw error(position, tag, "sequences nested deeper than \(Self.maximumSequenceDepth) levels")
        }
        var items: [DataSet] = []
        while position < end {
            let itemTag = try readTag(at: position, end: end)
            try require(8, at: position, end: end, tag: tag, what: "a sequence item header")
            let length = uint32(at: position + 4)
            if itemTag == .sequenceDelimitation {
                position += 8
                return items
            }
            guard itemTag == .item else {
                throw error(position, tag, "expected a sequence item (FFFE,E000), found \(itemTag)")
            }
            position += 8
            if length == 0xFFFF_FFFF {
                let (item, next, delimited) = try parse(from: position, to: end, depth: depth + 1)
                guard delimited else {
                    throw error(position, tag, "sequence item has no item delimitation before the end of the data")
                }
                items.append(item)
                position = next
            } else {
                let itemEnd = position + Int(length)
                guard itemEnd <= end else {
                    throw error(position - 8, tag, "item length \(length) exceeds the \(end - position) bytes left in the sequence")
                }
                let (item, _, _) = try parse(from: position, to: itemEnd, depth: depth + 1)
                items.append(item)
                position = itemEnd
            }
        }
        if undefinedLength {
            throw error(position, tag, "sequence has no sequence delimitation (FFFE,E0DD) before the end of the data; the file is truncated")
        }
        return items
    }

    private func readEncapsulated(at position: inout Int, end: Int, tag: DicomTag) throws -> EncapsulatedPixelData {
        var offsetTable: [UInt32] = []
        var fragments: [ArraySlice<UInt8>] = []
        var fragmentOffsets: [Int] = []
        var firstFragmentItem: Int?
        var isFirstItem = true
        while true {
            try require(8, at: position, end: end, tag: tag, what: "an encapsulated pixel data item")
            let itemTag = DicomTag(uint16(at: position), uint16(at: position + 2))
            let length = Int(uint32(at: position + 4))
            if itemTag == .sequenceDelimitation {
                position += 8
                break
            }
            guard itemTag == .item else {
                throw error(position, tag, "expected a pixel data fragment item (FFFE,E000), found \(itemTag)")
            }
            guard length <= end - position - 8 else {
                throw error(position, tag, "fragment length \(length) exceeds the \(end - position - 8) bytes left; the file is truncated")
            }
            let value = bytes[(position + 8)..<(position + 8 + length)]
            if isFirstItem {
                offsetTable = value.withUnsafeBytes { raw in
                    (0..<(length / 4)).map { UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)) }
                }
                isFirstItem = false
            } else {
                let first = firstFragmentItem ?? position
                firstFragmentItem = first
                fragmentOffsets.append(position - first)
                fragments.append(value)
            }
            position += 8 + length
        }
        return EncapsulatedPixelData(basicOffsetTable: offsetTable, fragments: fragments, fragmentItemOffsets: fragmentOffsets)
    }

    // MARK: - Bytes

    private func readTag(at position: Int, end: Int) throws -> DicomTag {
        try require(4, at: position, end: end, tag: nil, what: "a tag")
        return DicomTag(uint16(at: position), uint16(at: position + 2))
    }

    private func require(_ count: Int, at position: Int, end: Int, tag: DicomTag?, what: String) throws {
        if end - position < count {
            throw error(position, tag, "the data ends after \(end - position) bytes, inside \(what); the file is truncated")
        }
    }

    /// Item and delimitation tags are little endian in every little endian syntax and big endian
    /// in Explicit VR Big Endian, like every other tag.
    private func uint16(at position: Int) -> UInt16 {
        let value = UInt16(bytes[position]) | UInt16(bytes[position + 1]) << 8
        return isBigEndian ? value.byteSwapped : value
    }

    private func uint32(at position: Int) -> UInt32 {
        let value = UInt32(bytes[position]) | UInt32(bytes[position + 1]) << 8
            | UInt32(bytes[position + 2]) << 16 | UInt32(bytes[position + 3]) << 24
        return isBigEndian ? value.byteSwapped : value
    }

    private func error(_ position: Int, _ tag: DicomTag?, _ reason: String) -> DicomError {
        DicomError(file: file, offset: position, tag: tag, reason)
    }
}

func hexByte(_ byte: UInt8) -> String {
    let digits = String(byte, radix: 16, uppercase: true)
    return digits.count == 1 ? "0" + digits : digits
}
