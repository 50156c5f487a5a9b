// Decodes JPEG Lossless, Non-Hierarchical (process 14) pixel data in Swift, because libjpeg-turbo
// 2.1 has no lossless mode. The algorithm is ITU-T T.81 (09/92) annex H: Huffman-coded differences
// (H.1.2.2, with the categories of F.1.2.1), the seven predictors of table H.1 and the point
// transform of H.1.2.3 (Al in the scan header).

/// The JPEG Lossless decoder for transfer syntaxes 1.2.840.10008.1.2.4.57 (any selection value)
/// and 1.2.840.10008.1.2.4.70 (selection value 1).
struct JPEGLosslessDecoder: PixelDecoder {
    var transferSyntaxUIDs: Set<String> { ["1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70"] }

    func decode(_ pixelData: DataElement, description: PixelDescription, in dataSet: DataSet) throws -> StoredPixels {
        try decodeEncapsulatedFrames(pixelData, description: description, in: dataSet, codec: "JPEG Lossless") { frame in
            let image = try JPEGLosslessImage(frame)
            try image.check(against: description)
            return image.samples
        }
    }
}

/// One decoded JPEG Lossless frame: the reconstructed samples, interleaved, after the point transform.
struct JPEGLosslessImage {
    var width = 0
    var height = 0
    /// Sample precision P from the frame header, 2 to 16 bits.
    var precision = 0
    var components: [Component] = []
    /// `width * height * components.count` values, colour-by-pixel.
    var samples: [Int32] = []

    struct Component {
        var id: UInt8
        var horizontalSampling: Int
        var verticalSampling: Int
        /// Reconstructed values before the point transform, row by row.
        var plane: [Int32]
    }

    /// Parses and decodes one JPEG Lossless codestream.
    ///
    /// - throws: `CodestreamError` when the stream is truncated, uses another process or is malformed.
    init(_ stream: [UInt8]) throws {
        var reader = JPEGMarkerReader(stream)
        guard try reader.nextMarker() == 0xD8 else { throw CodestreamError("the stream does not start with an SOI marker (FFD8)") }
        var dcTables = [HuffmanTable?](repeating: nil, count: 4)
        var restartInterval = 0
        var decodedComponents = Set<UInt8>()

        markers: while true {
            let marker = try reader.nextMarker()
            switch marker {
            case 0xC3:
                try parseFrameHeader(try reader.segment())
            case 0xC0, 0xC1, 0xC2, 0xC5...0xC7, 0xC9...0xCB, 0xCD...0xCF:
                throw CodestreamError("the stream uses JPEG process SOF\(marker - 0xC0), not lossless process 14 (SOF3)")
            case 0xC4:
                let segment = try reader.segment()
                var position = 0
                while position < segment.count {
                    let (table, tableClass, index, length) = try HuffmanTable.parse(segment, at: position)
                    if tableClass == 0 { dcTables[index] = table }
                    position += length
                }
            case 0xDD:
                let segment = Array(try reader.segment())
                guard segment.count >= 2 else { throw CodestreamError("the DRI segment is shorter than 2 bytes") }
                restartInterval = Int(segment[0]) << 8 | Int(segment[1])
            case 0xDA:
                guard !components.isEmpty else { throw CodestreamError("a scan (SOS) comes before the frame header (SOF3)") }
                let header = try reader.segment()
                let scanned = try decodeScan(header: header, reader: &reader, tables: dcTables, restartInterval: restartInterval)
                decodedComponents.formUnion(scanned)
            case 0xD9:
                break markers
            case 0xDC:
                throw CodestreamError("the stream sets its height in a DNL marker, which is not supported")
            default:
                // APPn, COM, DQT, DAC and other segments carry nothing the lossless decoder needs.
                _ = try reader.segment()
            }
        }
        guard !components.isEmpty else { throw CodestreamError("the stream has no frame header (SOF3)") }
        let missing = components.filter { !decodedComponents.contains($0.id) }
        guard missing.isEmpty else {
            throw CodestreamError("the stream ends before a scan decodes component(s) \(missing.map { String($0.id) }.joined(separator: ", "))")
        }

        let count = components.count
        samples = [Int32](repeating: 0, count: width * height * count)
        for (index, component) in components.enumerated() {
            for pixel in 0..<(width * height) {
                samples[pixel * count + index] = component.plane[pixel]
            }
        }
    }

    private mutating func parseFrameHeader(_ segment: ArraySlice<UInt8>) throws {
        let bytes = Array(segment)
        guard bytes.count >= 6 else { throw CodestreamError("the SOF3 segment is shorter than 6 bytes") }
        precision = Int(bytes[0])
        height = Int(bytes[1]) << 8 | Int(bytes[2])
        width = Int(bytes[3]) << 8 | Int(bytes[4])
        let count = Int(bytes[5])
        guard (2...16).contains(precision) else { throw CodestreamError("sample precision \(precision) is outside 2 to 16 bits") }
        guard width > 0 else { throw CodestreamError("the frame header gives width 0") }
        guard height > 0 else { throw CodestreamError("the frame header gives height 0, which needs a DNL marker") }
        guard count >= 1, bytes.count >= 6 + 3 * count else {
            throw CodestreamError("the SOF3 segment is too short for \(count) component(s)")
        }
        for index in 0..<count {
            let base = 6 + 3 * index
            let horizontal = Int(bytes[base + 1] >> 4)
            let vertical = Int(bytes[base + 1] & 0x0F)
            guard horizontal == 1, vertical == 1 else {
                // NOTE: T.81 allows other sampling factors in lossless mode, but this decoder rejects them.
                throw CodestreamError("component \(bytes[base]) has sampling factors \(horizontal)x\(vertical); only 1x1 is supported")
            }
            components.append(Component(id: bytes[base], horizontalSampling: horizontal, verticalSampling: vertical,
                                        plane: [Int32](repeating: 0, count: width * height)))
        }
    }

    /// Decodes one scan and returns the ids of the components it contained.
    private mutating func decodeScan(header segment: ArraySlice<UInt8>, reader: inout JPEGMarkerReader,
                                     tables: [HuffmanTable?], restartInterval: Int) throws -> [UInt8] {
        let header = Array(segment)
        guard let count = header.first.map(Int.init), count >= 1, header.count >= 1 + 2 * count + 3 else {
            throw CodestreamError("the SOS segment is too short")
        }
        var scanComponents: [Int] = []
        var scanTables: [HuffmanTable] = []
        for index in 0..<count {
            let id = header[1 + 2 * index]
            guard let position = components.firstIndex(where: { $0.id == id }) else {
                throw CodestreamError("the scan names component \(id), which the frame header does not define")
            }
            let tableIndex = Int(header[2 + 2 * index] >> 4)
            guard tableIndex < 4, let table = tables[tableIndex] else {
                throw CodestreamError("component \(id) uses Huffman table \(tableIndex), which no DHT segment defined")
            }
            scanComponents.append(position)
            scanTables.append(table)
        }
        let selection = Int(header[1 + 2 * count])
        let pointTransform = Int(header[3 + 2 * count] & 0x0F)
        guard (1...7).contains(selection) else {
            throw CodestreamError("predictor selection value \(selection) is not 1 to 7 (0 is for hierarchical mode only)")
        }
        guard pointTransform < precision else {
            throw CodestreamError("point transform \(pointTransform) is not below the precision \(precision)")
        }

        var bits = JPEGBitReader(reader.bytes, position: reader.position)
        let pixels = width * height
        // Table H.1 and H.1.2.1: the first sample of a restart interval is predicted from 2^(P-Pt-1).
        let initialPrediction = Int32(1) << Int32(precision - pointTransform - 1)
        var planes = scanComponents.map { components[$0].plane }
        var unitsLeft = restartInterval
        var intervalStart = 0
        for pixel in 0..<pixels {
            // NOTE: only the minimal encoder in JPEGLosslessRestartTests writes restart markers, because DCMTK and GDCM do not.
            if restartInterval > 0 {
                if unitsLeft == 0 {
                    try bits.restart()
                    unitsLeft = restartInterval
                    intervalStart = pixel
                }
                unitsLeft -= 1
            }
            let x = pixel % width
            // After a restart the first line (of the interval) is predicted from the left neighbour only.
            let onFirstLine = pixel - intervalStart < width
            for index in 0..<count {
                let difference = try bits.decodeDifference(scanTables[index])
                let prediction: Int32
                if pixel == intervalStart {
                    prediction = initialPrediction
                } else if onFirstLine {
                    prediction = planes[index][pixel - 1]
                } else if x == 0 {
                    prediction = planes[index][pixel - width]
                } else {
                    let a = planes[index][pixel - 1]
                    let b = planes[index][pixel - width]
                    let c = planes[index][pixel - width - 1]
                    switch selection {
                    case 1: prediction = a
                    case 2: prediction = b
                    case 3: prediction = c
                    case 4: prediction = a + b - c
                    case 5: prediction = a + ((b - c) >> 1)
                    case 6: prediction = b + ((a - c) >> 1)
                    default: prediction = (a + b) >> 1
                    }
                }
                // H.1.2.1: reconstruction is modulo 2^16.
                planes[index][pixel] = (prediction + difference) & 0xFFFF
            }
        }
        for (index, component) in scanComponents.enumerated() {
            components[component].plane = planes[index].map { $0 << Int32(pointTransform) }
        }
        reader.position = bits.endOfEntropyCodedData()
        return scanComponents.map { components[$0].id }
    }

    /// Checks the frame header against the DICOM Image Pixel module.
    func check(against description: PixelDescription) throws {
        guard width == description.columns, height == description.rows else {
            throw CodestreamError("the stream is \(width) x \(height), but Columns x Rows is \(description.columns) x \(description.rows)")
        }
        guard components.count == description.samplesPerPixel else {
            throw CodestreamError("the stream has \(components.count) component(s), but Samples per Pixel is \(description.samplesPerPixel)")
        }
        guard precision <= description.bytesPerSample * 8 else {
            throw CodestreamError("sample precision \(precision) does not fit Bits Allocated \(description.bitsAllocated)")
        }
    }
}

/// A malformed or unsupported compressed codestream. `decodeEncapsulatedFrames` adds the file, tag and frame.
struct CodestreamError: Error {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}

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
struct HuffmanTable {
    static let lookupBits = 9
    /// For codes of up to `lookupBits` bits, indexed by the next `lookupBits` bits: length << 8 | value.
    var lookup = [UInt16](repeating: 0, count: 1 << lookupBits)
    /// Largest code of each length 1...16, or -1 when there is none.
    var maxCode = [Int32](repeating: -1, count: 17)
    var valuePointer = [Int](repeating: 0, count: 17)
    var minCode = [Int32](repeating: 0, count: 17)
    var values: [UInt8] = []

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
        var table = HuffmanTable()
        table.values = Array(segment[(start + 17)..<(start + 17 + total)])

        // Generate the canonical codes (C.2) and the decoding tables (F.2.2.3).
        var code: Int32 = 0
        var index = 0
        for length in 1...16 {
            let count = counts[length - 1]
            if count > 0 {
                table.valuePointer[length] = index
                table.minCode[length] = code
                for _ in 0..<count {
                    guard code < (1 << length) else {
                        throw CodestreamError("a DHT table defines more codes of length \(length) than fit")
                    }
                    if length <= lookupBits {
                        let shift = lookupBits - length
                        let first = Int(code) << shift
                        for fill in 0..<(1 << shift) {
                            table.lookup[first + fill] = UInt16(length) << 8 | UInt16(table.values[index])
                        }
                    }
                    code += 1
                    index += 1
                }
                table.maxCode[length] = code - 1
            }
            code <<= 1
        }
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

    private mutating func fill() {
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
        // Reading more padding than one byte's worth means the scan ran out of data.
        if padding > 0 && count < padding - 8 {
            throw CodestreamError("the entropy-coded data ends early, at byte \(position)")
        }
        return value
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
        let extra = try take(category)
        // Values below 2^(SSSS-1) are negative.
        return extra < (Int32(1) << Int32(category - 1)) ? extra - (Int32(1) << Int32(category)) + 1 : extra
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
