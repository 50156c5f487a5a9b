// Reading JPEG streams (ITU-T T.81): marker segments, Huffman tables and entropy-coded bits, shared
// by the Swift JPEG Lossless and 12-bit sequential DCT decoders.

/// Walks the marker segments of a JPEG stream (T.81 B.1.1).
struct JPEGMarkerReader {
    let bytes: [UInt8]
    var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Returns the next marker code (the byte after 0xFF), skipping fill bytes.
    mutating func nextMarker() throws -> UInt8 {
        while position < bytes.count && bytes[position] != 0xFF { position += 1 }
        while position < bytes.count && bytes[position] == 0xFF { position += 1 }
        guard position < bytes.count else { throw CodestreamError("the stream ends before an EOI marker (FFD9)") }
        let marker = bytes[position]
        position += 1
        return marker
    }

    /// Returns the body of the marker segment at the current position and moves past it.
    mutating func segment() throws -> ArraySlice<UInt8> {
        guard position + 2 <= bytes.count else { throw CodestreamError("a marker segment length passes the end of the stream") }
        let length = Int(bytes[position]) << 8 | Int(bytes[position + 1])
        guard length >= 2, position + length <= bytes.count else {
            throw CodestreamError("a marker segment of \(length) bytes at byte \(position) passes the end of the stream")
        }
        defer { position += length }
        return bytes[(position + 2)..<(position + length)]
    }
}

/// A Huffman table of a DHT segment (T.81 B.2.4.2), with the decoding procedure of F.2.2.3.
///
/// A class, so that passing a table per decoded symbol copies no arrays; its properties are
/// constants, so reading them in the decoding loop needs no exclusivity checks.
final class HuffmanTable {
    static let lookupBits = 9
    /// For codes of up to `lookupBits` bits, indexed by the next `lookupBits` bits: length << 8 | value.
    let lookup: [UInt16]
    /// Largest code of each length 1...16, or -1 when there is none.
    let maxCode: [Int32]
    let valuePointer: [Int]
    let minCode: [Int32]
    let values: [UInt8]

    private init(lookup: [UInt16], maxCode: [Int32], valuePointer: [Int], minCode: [Int32], values: [UInt8]) {
        self.lookup = lookup
        self.maxCode = maxCode
        self.valuePointer = valuePointer
        self.minCode = minCode
        self.values = values
    }

    /// Parses one table and returns it, its class (Tc: 0 for DC and lossless, 1 for AC), its
    /// destination (Th) and the bytes it used.
    static func parse(_ segment: ArraySlice<UInt8>, at offset: Int) throws -> (HuffmanTable, Int, Int, Int) {
        let start = segment.startIndex + offset
        guard start + 17 <= segment.endIndex else { throw CodestreamError("a DHT table is truncated") }
        let destination = Int(segment[start] & 0x0F)
        guard destination < 4 else { throw CodestreamError("Huffman table destination \(destination) is above 3") }
        let counts = (1...16).map { Int(segment[start + $0]) }
        let total = counts.reduce(0, +)
        guard start + 17 + total <= segment.endIndex else { throw CodestreamError("a DHT table lists more values than its segment contains") }
        let values = Array(segment[(start + 17)..<(start + 17 + total)])
        var lookup = [UInt16](repeating: 0, count: 1 << lookupBits)
        var maxCode = [Int32](repeating: -1, count: 17)
        var valuePointer = [Int](repeating: 0, count: 17)
        var minCode = [Int32](repeating: 0, count: 17)

        // Generate the canonical codes (C.2) and the decoding tables (F.2.2.3).
        var code: Int32 = 0
        var index = 0
        for length in 1...16 {
            let count = counts[length - 1]
            if count > 0 {
                valuePointer[length] = index
                minCode[length] = code
                for _ in 0..<count {
                    guard code < (1 << length) else {
                        throw CodestreamError("a DHT table defines more codes of length \(length) than fit")
                    }
                    if length <= lookupBits {
                        let shift = lookupBits - length
                        let first = Int(code) << shift
                        for fill in 0..<(1 << shift) {
                            lookup[first + fill] = UInt16(length) << 8 | UInt16(values[index])
                        }
                    }
                    code += 1
                    index += 1
                }
                maxCode[length] = code - 1
            }
            code <<= 1
        }
        let table = HuffmanTable(lookup: lookup, maxCode: maxCode, valuePointer: valuePointer, minCode: minCode, values: values)
        return (table, Int(segment[start] >> 4), destination, 17 + total)
    }
}

/// Reads entropy-coded bits, removing stuffed zero bytes and stopping at markers (T.81 F.1.2.3).
struct JPEGBitReader {
    let bytes: [UInt8]
    var position: Int
    var buffer: UInt64 = 0
    var count = 0
    /// Zero bits fed after a marker or the end of data, to detect streams that run out.
    var padding = 0

    init(_ bytes: [UInt8], position: Int) {
        self.bytes = bytes
        self.position = position
    }

    /// Fills the buffer to 57 bits or more. Bits below `count` are zero, so new bytes are ORed in.
    private mutating func fill() {
        // Fast path: 8 bytes without 0xFF need no unstuffing and contain no marker, so the whole
        // bytes that fit are added at once.
        if count <= 56 && position + 8 <= bytes.count {
            let word = bytes.withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: position, as: UInt64.self)) }
            let inverted = ~word
            let containsFF = (inverted &- 0x0101_0101_0101_0101) & ~inverted & 0x8080_8080_8080_8080 != 0
            if !containsFF {
                let added = (64 - count) / 8
                buffer |= (word & (UInt64.max &<< UInt64(64 - 8 * added))) &>> UInt64(count)
                position += added
                count += 8 * added
                return
            }
        }
        while count <= 56 {
            var byte: UInt8 = 0
            if position < bytes.count && bytes[position] != 0xFF {
                byte = bytes[position]
                position += 1
            } else if position + 1 < bytes.count && bytes[position] == 0xFF && bytes[position + 1] == 0x00 {
                byte = 0xFF
                position += 2
            } else {
                padding += 8
            }
            buffer |= UInt64(byte) << UInt64(56 - count)
            count += 8
        }
    }

    private mutating func take(_ bits: Int) throws -> Int32 {
        if bits == 0 { return 0 }
        if count < bits { fill() }
        let value = Int32(truncatingIfNeeded: buffer >> UInt64(64 - bits))
        buffer <<= UInt64(bits)
        count -= bits
        try checkDataRemains()
        return value
    }

    /// Refills the buffer, up to 57 bits or more, when it contains fewer than `minimum` bits.
    ///
    /// - precondition: `minimum <= 57`.
    @inline(__always)
    mutating func ensureBits(_ minimum: Int) {
        if count < minimum { fill() }
    }

    /// Returns the next `bits` bits (1 to 32) without consuming them. Call `ensureBits` first.
    @inline(__always)
    func peek(_ bits: Int) -> Int {
        Int(truncatingIfNeeded: buffer &>> UInt64(64 - bits))
    }

    /// Consumes `bits` bits (0 to 63) that `ensureBits` made available, without the end-of-data check
    /// of `take`. The caller must run `checkDataRemains` before it accepts the decoded values.
    @inline(__always)
    mutating func skip(_ bits: Int) {
        buffer &<<= UInt64(bits)
        count -= bits
    }

    /// Throws when more than one byte of padding has been consumed, which means the scan ran out of data.
    func checkDataRemains() throws {
        if padding > 0 && count < padding - 8 {
            throw CodestreamError("the entropy-coded data ends early, at byte \(position)")
        }
    }

    /// Decodes one Huffman-coded symbol (T.81 F.2.2.3).
    mutating func decodeSymbol(_ table: HuffmanTable) throws -> Int {
        if count < 16 { fill() }
        let peek = Int(buffer >> UInt64(64 - HuffmanTable.lookupBits))
        let entry = table.lookup[peek]
        if entry != 0 {
            _ = try take(Int(entry >> 8))
            return Int(entry & 0xFF)
        }
        let next16 = Int32(truncatingIfNeeded: buffer >> 48)
        var length = HuffmanTable.lookupBits + 1
        while length <= 16 && (next16 >> Int32(16 - length)) > table.maxCode[length] { length += 1 }
        guard length <= 16 else { throw CodestreamError("invalid Huffman code near byte \(position)") }
        let code = next16 >> Int32(16 - length)
        _ = try take(length)
        return Int(table.values[table.valuePointer[length] + Int(code - table.minCode[length])])
    }

    /// Reads `category` extra bits and returns the signed value they code (T.81 F.2.2.1, EXTEND).
    mutating func receiveExtended(_ category: Int) throws -> Int32 {
        guard category > 0 else { return 0 }
        return Self.extend(try take(category), category: category)
    }

    /// Returns the signed value that `category` (1 to 15) extra bits `extra` code (T.81 F.2.2.1, EXTEND).
    static func extend(_ extra: Int32, category: Int) -> Int32 {
        // Values below 2^(SSSS-1) are negative.
        extra < (Int32(1) << Int32(category - 1)) ? extra - (Int32(1) << Int32(category)) + 1 : extra
    }

    /// Decodes one lossless difference: a Huffman-coded category SSSS, then SSSS extra bits (H.1.2.2).
    mutating func decodeDifference(_ table: HuffmanTable) throws -> Int32 {
        let category = try decodeSymbol(table)
        switch category {
        case 16:
            // H.1.2.2: category 16 is the difference 32768 and has no extra bits.
            return 32768
        case 0...15:
            return try receiveExtended(category)
        default:
            throw CodestreamError("difference category \(category) is above 16")
        }
    }

    /// Discards the bits left before a restart marker and moves past the RSTn marker.
    mutating func restart() throws {
        try checkDataRemains()
        position = endOfEntropyCodedData()
        guard position + 1 < bytes.count, bytes[position] == 0xFF, (0xD0...0xD7).contains(bytes[position + 1]) else {
            throw CodestreamError("expected a restart marker (RSTn) at byte \(position)")
        }
        position += 2
        buffer = 0
        count = 0
        padding = 0
    }

    /// Finds the marker that ends the entropy-coded data and returns its position.
    func endOfEntropyCodedData() -> Int {
        var scan = position
        while scan + 1 < bytes.count && !(bytes[scan] == 0xFF && bytes[scan + 1] != 0x00 && bytes[scan + 1] != 0xFF) {
            scan += 1
        }
        return scan < bytes.count - 1 ? scan : bytes.count
    }
}
