// Decodes sequential DCT-based JPEG with Huffman coding (T.81 processes 1, 2 and 4, SOF0 and SOF1)
// in Swift. JPEGBaselineDecoder sends it the 12-bit frames that Debian's libjpeg-turbo 2.1.5
// cannot decode, and sends 8-bit frames to libjpeg-turbo. Entropy decoding follows T.81 F.2.2. The
// inverse DCT uses the integer arithmetic of Thomas Richter's libjpeg, the decoder that pydicom
// uses through pylibjpeg-libjpeg 2.5, so 12-bit output equals pydicom's. IJG-based decoders such as
// DCMTK's dcmdjpeg round their IDCT differently, and in the tested images some of their samples
// differ by 1, none by more. Docs/imaging.md compares the two.

/// One decoded DCT-based JPEG frame: samples, colour-by-pixel, without colour conversion.
struct JPEGSequentialDCTImage {
    var width = 0
    var height = 0
    var precision = 0
    var samples: [Int32] = []

    private struct Component {
        var id: UInt8
        var horizontalSampling: Int
        var verticalSampling: Int
        var quantizationTable: Int
        var blocksAcross = 0
        var blocksDown = 0
        /// Decoded samples of whole blocks, `blocksAcross * 8` wide.
        var plane: [Int32] = []
        var predictor: Int32 = 0
    }

    private var components: [Component] = []
    private var maxHorizontal = 1
    private var maxVertical = 1

    /// Parses and decodes one JPEG stream.
    ///
    /// - throws: `CodestreamError` when the stream is malformed or uses a process or layout that
    ///   this decoder does not implement (progressive, arithmetic, hierarchical, subsampling).
    init(_ stream: [UInt8]) throws {
        var reader = JPEGMarkerReader(stream)
        guard try reader.nextMarker() == 0xD8 else { throw CodestreamError("the stream does not start with an SOI marker (FFD8)") }
        var quantization = [[Int32]?](repeating: nil, count: 4)
        var dcTables = [HuffmanTable?](repeating: nil, count: 4)
        var acTables = [HuffmanTable?](repeating: nil, count: 4)
        var restartInterval = 0
        var scans = 0

        markers: while true {
            let marker = try reader.nextMarker()
            switch marker {
            case 0xC0, 0xC1:
                try parseFrameHeader(Array(try reader.segment()))
            case 0xC2, 0xC3, 0xC5...0xC7, 0xC9...0xCB, 0xCD...0xCF:
                throw CodestreamError("the stream uses JPEG process SOF\(marker - 0xC0); only sequential Huffman (SOF0, SOF1) is decoded for 12-bit samples")
            case 0xDB:
                let segment = Array(try reader.segment())
                var position = 0
                while position < segment.count {
                    let wide = segment[position] >> 4 == 1
                    let destination = Int(segment[position] & 0x0F)
                    let length = wide ? 128 : 64
                    guard destination < 4, position + 1 + length <= segment.count else {
                        throw CodestreamError("a DQT table is truncated or has destination \(destination) above 3")
                    }
                    var table = [Int32](repeating: 0, count: 64)
                    for index in 0..<64 {
                        let value = wide
                            ? Int32(segment[position + 1 + 2 * index]) << 8 | Int32(segment[position + 2 + 2 * index])
                            : Int32(segment[position + 1 + index])
                        table[Self.zigzag[index]] = value
                    }
                    quantization[destination] = table
                    position += 1 + length
                }
            case 0xC4:
                let segment = try reader.segment()
                var position = 0
                while position < segment.count {
                    let (table, tableClass, index, length) = try HuffmanTable.parse(segment, at: position)
                    if tableClass == 0 { dcTables[index] = table } else { acTables[index] = table }
                    position += length
                }
            case 0xDD:
                let segment = Array(try reader.segment())
                guard segment.count >= 2 else { throw CodestreamError("the DRI segment is shorter than 2 bytes") }
                restartInterval = Int(segment[0]) << 8 | Int(segment[1])
            case 0xDA:
                guard !components.isEmpty else { throw CodestreamError("a scan (SOS) comes before the frame header") }
                try decodeScan(header: Array(try reader.segment()), reader: &reader, quantization: quantization,
                               dcTables: dcTables, acTables: acTables, restartInterval: restartInterval)
                scans += 1
            case 0xD9:
                break markers
            case 0xDC:
                throw CodestreamError("the stream sets its height in a DNL marker, which is not supported")
            default:
                _ = try reader.segment()
            }
        }
        guard scans > 0 else { throw CodestreamError("the stream has no scan") }

        let count = components.count
        samples = [Int32](repeating: 0, count: width * height * count)
        for (index, component) in components.enumerated() {
            let stride = component.blocksAcross * 8
            for y in 0..<height {
                for x in 0..<width {
                    samples[(y * width + x) * count + index] = component.plane[y * stride + x]
                }
            }
        }
    }

    private mutating func parseFrameHeader(_ bytes: [UInt8]) throws {
        guard bytes.count >= 6 else { throw CodestreamError("the frame header is shorter than 6 bytes") }
        precision = Int(bytes[0])
        height = Int(bytes[1]) << 8 | Int(bytes[2])
        width = Int(bytes[3]) << 8 | Int(bytes[4])
        let count = Int(bytes[5])
        guard precision == 8 || precision == 12 else { throw CodestreamError("sample precision \(precision) is not 8 or 12") }
        guard width > 0, height > 0 else { throw CodestreamError("the frame header gives size \(width) x \(height)") }
        guard count >= 1, bytes.count >= 6 + 3 * count else { throw CodestreamError("the frame header is too short for \(count) component(s)") }
        for index in 0..<count {
            let base = 6 + 3 * index
            let table = Int(bytes[base + 2])
            guard table < 4 else { throw CodestreamError("component \(bytes[base]) uses quantization table \(table), but the maximum is 3") }
            components.append(Component(id: bytes[base], horizontalSampling: Int(bytes[base + 1] >> 4),
                                        verticalSampling: Int(bytes[base + 1] & 0x0F), quantizationTable: table))
        }
        maxHorizontal = components.map(\.horizontalSampling).max() ?? 1
        maxVertical = components.map(\.verticalSampling).max() ?? 1
        guard components.allSatisfy({ $0.horizontalSampling == maxHorizontal && $0.verticalSampling == maxVertical }),
              (1...4).contains(maxHorizontal), (1...4).contains(maxVertical) else {
            // NOTE: chroma subsampling needs upsampling, which only the libjpeg-turbo path (8-bit) has.
            throw CodestreamError("the components have different sampling factors; subsampled 12-bit JPEG is not supported")
        }
        let mcusAcross = (width + 8 * maxHorizontal - 1) / (8 * maxHorizontal)
        let mcusDown = (height + 8 * maxVertical - 1) / (8 * maxVertical)
        for index in components.indices {
            components[index].blocksAcross = mcusAcross * maxHorizontal
            components[index].blocksDown = mcusDown * maxVertical
            components[index].plane = [Int32](repeating: 0, count: components[index].blocksAcross * components[index].blocksDown * 64)
        }
    }

    private mutating func decodeScan(header: [UInt8], reader: inout JPEGMarkerReader, quantization: [[Int32]?],
                                     dcTables: [HuffmanTable?], acTables: [HuffmanTable?], restartInterval: Int) throws {
        guard let count = header.first.map(Int.init), count >= 1, header.count >= 1 + 2 * count + 3 else {
            throw CodestreamError("the SOS segment is too short")
        }
        var scanComponents: [Int] = []
        var scanDC: [HuffmanTable] = []
        var scanAC: [HuffmanTable] = []
        var scanQuantization: [[Int32]] = []
        for index in 0..<count {
            let id = header[1 + 2 * index]
            guard let position = components.firstIndex(where: { $0.id == id }) else {
                throw CodestreamError("the scan names component \(id), which the frame header does not define")
            }
            let dc = Int(header[2 + 2 * index] >> 4)
            let ac = Int(header[2 + 2 * index] & 0x0F)
            guard dc < 4, ac < 4, let dcTable = dcTables[dc], let acTable = acTables[ac] else {
                throw CodestreamError("component \(id) uses Huffman tables DC \(dc) and AC \(ac), which no DHT segment defined")
            }
            guard let table = quantization[components[position].quantizationTable] else {
                throw CodestreamError("component \(id) uses quantization table \(components[position].quantizationTable), which no DQT segment defined")
            }
            scanComponents.append(position)
            scanDC.append(dcTable)
            scanAC.append(acTable)
            scanQuantization.append(table)
            components[position].predictor = 0
        }

        let spectralStart = header[1 + 2 * count]
        let spectralEnd = header[2 + 2 * count]
        let approximation = header[3 + 2 * count]
        guard spectralStart == 0, spectralEnd == 63, approximation == 0 else {
            // T.81 B.2.3: a sequential DCT scan has Ss 0, Se 63, Ah 0 and Al 0.
            throw CodestreamError("the scan header has Ss \(spectralStart), Se \(spectralEnd), Ah and Al \(approximation >> 4) and \(approximation & 0x0F); a sequential DCT scan needs 0, 63, 0 and 0")
        }

        var bits = JPEGBitReader(reader.bytes, position: reader.position)
        // A scan of one component codes its blocks one by one (T.81 A.2.2). An interleaved scan codes
        // MCUs of H x V blocks per component (A.2.3).
        let single = count == 1
        let first = components[scanComponents[0]]
        let columnsOfUnits = single ? (width + 7) / 8 : first.blocksAcross / first.horizontalSampling
        let rowsOfUnits = single ? (height + 7) / 8 : first.blocksDown / first.verticalSampling
        var unitsLeft = restartInterval
        var coefficients = [Int32](repeating: 0, count: 64)
        var workspace = [Int](repeating: 0, count: 64)
        for unit in 0..<(columnsOfUnits * rowsOfUnits) {
            // NOTE: only the minimal encoder in JPEGSequentialRestartTests writes restart markers, because dcmcjpeg does not.
            if restartInterval > 0 {
                if unitsLeft == 0 {
                    try bits.restart()
                    for index in scanComponents { components[index].predictor = 0 }
                    unitsLeft = restartInterval
                }
                unitsLeft -= 1
            }
            let unitX = unit % columnsOfUnits
            let unitY = unit / columnsOfUnits
            for (scanIndex, index) in scanComponents.enumerated() {
                let across = single ? 1 : components[index].horizontalSampling
                let down = single ? 1 : components[index].verticalSampling
                for blockY in 0..<down {
                    for blockX in 0..<across {
                        try decodeBlock(&coefficients, bits: &bits, component: index, dc: scanDC[scanIndex], ac: scanAC[scanIndex])
                        inverseDCT(coefficients, quantization: scanQuantization[scanIndex], workspace: &workspace,
                                   component: index, blockX: unitX * across + blockX, blockY: unitY * down + blockY)
                    }
                }
            }
        }
        reader.position = bits.endOfEntropyCodedData()
    }

    private mutating func decodeBlock(_ block: inout [Int32], bits: inout JPEGBitReader, component: Int,
                                      dc: HuffmanTable, ac: HuffmanTable) throws {
        for index in 0..<64 { block[index] = 0 }
        let category = try bits.decodeSymbol(dc)
        guard category <= 15 else { throw CodestreamError("DC difference category \(category) is above 15") }
        // IJG stores coefficients as 16-bit JCOEF values, so corrupt streams wrap the same way here.
        components[component].predictor &+= try bits.receiveExtended(category)
        block[0] = Int32(Int16(truncatingIfNeeded: components[component].predictor))
        var k = 1
        while k < 64 {
            let symbol = try bits.decodeSymbol(ac)
            let run = symbol >> 4
            let size = symbol & 0x0F
            if size == 0 {
                // RRRRSSSS 0xF0 (ZRL) skips 16 zero coefficients, and 0x00 (EOB) ends the block.
                if run != 15 { break }
                k += 16
                continue
            }
            k += run
            guard k < 64 else { throw CodestreamError("an AC coefficient run passes the end of the block") }
            block[Self.zigzag[k]] = Int32(Int16(truncatingIfNeeded: try bits.receiveExtended(size)))
            k += 1
        }
    }

    // Fixed-point constants of Richter's libjpeg IDCT: round(x * 2^9).
    private static let fix0_298631336 = 153
    private static let fix0_390180644 = 200
    private static let fix0_541196100 = 277
    private static let fix0_765366865 = 392
    private static let fix0_899976223 = 461
    private static let fix1_175875602 = 602
    private static let fix1_501321110 = 769
    private static let fix1_847759065 = 946
    private static let fix1_961570560 = 1004
    private static let fix2_053119869 = 1051
    private static let fix2_562915447 = 1312
    private static let fix3_072711026 = 1573
    private static let constantBits = 9
    /// Fraction bits that samples carry from dequantization until the final rounding. Richter's
    /// libjpeg reserves them for its colour transform and keeps them for one component too.
    private static let sampleFractionBits = 4

    /// Divides by 2^bits, rounding halves toward positive infinity as libjpeg's add-then-shift does.
    private static func descale(_ value: Int, _ bits: Int) -> Int {
        (value + (1 << (bits - 1))) >> bits
    }

    /// Transforms the eight values at `start`, `start + step`, ... in place with one 8-point IDCT
    /// (the Loeffler-Ligtenberg-Moschytz factorization that IJG and Richter's libjpeg share), and
    /// divides the results by 2^`descaleBits`.
    private static func transform8(_ data: inout [Int], start: Int, step: Int, descaleBits: Int) {
        let s0 = data[start], s1 = data[start + step], s2 = data[start + 2 * step], s3 = data[start + 3 * step]
        let s4 = data[start + 4 * step], s5 = data[start + 5 * step], s6 = data[start + 6 * step], s7 = data[start + 7 * step]

        // Even part: inputs 0, 2, 4 and 6.
        let z1Even = (s2 + s6) * fix0_541196100
        let rotated2 = z1Even - s6 * fix1_847759065
        let rotated3 = z1Even + s2 * fix0_765366865
        let sum04 = (s0 + s4) << constantBits
        let difference04 = (s0 - s4) << constantBits
        let tmp10 = sum04 + rotated3
        let tmp13 = sum04 - rotated3
        let tmp11 = difference04 + rotated2
        let tmp12 = difference04 - rotated2

        // Odd part: inputs 7, 5, 3 and 1.
        let z5 = (s7 + s3 + s5 + s1) * fix1_175875602
        let z1 = (s7 + s1) * -fix0_899976223
        let z2 = (s5 + s3) * -fix2_562915447
        let z3 = (s7 + s3) * -fix1_961570560 + z5
        let z4 = (s5 + s1) * -fix0_390180644 + z5
        let odd0 = s7 * fix0_298631336 + z1 + z3
        let odd1 = s5 * fix2_053119869 + z2 + z4
        let odd2 = s3 * fix3_072711026 + z2 + z3
        let odd3 = s1 * fix1_501321110 + z1 + z4

        data[start] = descale(tmp10 + odd3, descaleBits)
        data[start + step] = descale(tmp11 + odd2, descaleBits)
        data[start + 2 * step] = descale(tmp12 + odd1, descaleBits)
        data[start + 3 * step] = descale(tmp13 + odd0, descaleBits)
        data[start + 4 * step] = descale(tmp13 - odd0, descaleBits)
        data[start + 5 * step] = descale(tmp12 - odd1, descaleBits)
        data[start + 6 * step] = descale(tmp11 - odd2, descaleBits)
        data[start + 7 * step] = descale(tmp10 - odd3, descaleBits)
    }

    /// Dequantizes and transforms one block, level-shifts it and stores it in the component's plane.
    ///
    /// The arithmetic is that of `IDCT::InverseTransformBlock` and the one-component colour
    /// transform in Thomas Richter's libjpeg, the decoder behind pylibjpeg-libjpeg, so the samples
    /// equal that decoder's. `workspace` is scratch space of 64 values, overwritten by each call.
    private mutating func inverseDCT(_ block: [Int32], quantization: [Int32], workspace: inout [Int],
                                     component: Int, blockX: Int, blockY: Int) {
        let fractionBits = Self.sampleFractionBits
        for index in 0..<64 {
            workspace[index] = Int(block[index]) * (Int(quantization[index]) << fractionBits)
        }
        // The level shift 2^(P-1) is added to the DC coefficient, scaled by the fraction bits and by 8
        // because the 2-D IDCT divides DC by 8.
        workspace[0] += (1 << (precision - 1)) << (fractionBits + 3)

        // Pass 1 runs along each row and keeps no extra fraction bits.
        for row in 0..<8 {
            Self.transform8(&workspace, start: row * 8, step: 1, descaleBits: Self.constantBits)
        }
        // Pass 2 runs down each column and also divides by 8, the gain of the two passes together.
        for column in 0..<8 {
            Self.transform8(&workspace, start: column, step: 8, descaleBits: Self.constantBits + 3)
        }

        let maximum = (1 << precision) - 1
        let stride = components[component].blocksAcross * 8
        let origin = blockY * 8 * stride + blockX * 8
        for row in 0..<8 {
            for x in 0..<8 {
                let sample = Self.descale(workspace[row * 8 + x], fractionBits)
                components[component].plane[origin + row * stride + x] = Int32(min(max(sample, 0), maximum))
            }
        }
    }

    /// Natural (row-major) position of each zig-zag index (T.81 figure A.6).
    static let zigzag: [Int] = [
        0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
        12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
        35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
        58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
    ]
}
