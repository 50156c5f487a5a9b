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
    /// `width * height * components.count` values, colour-by-pixel. Reconstruction is modulo 2^16,
    /// so every sample fits 16 bits.
    var samples: [UInt16] = []

    struct Component {
        var id: UInt8
        var horizontalSampling: Int
        var verticalSampling: Int
        /// Reconstructed values, row by row, shifted left by the point transform once their scan ends.
        var plane: [UInt16]
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
        if count == 1 {
            // One component needs no interleaving: its plane is the sample buffer.
            samples = components[0].plane
            return
        }
        samples = [UInt16](repeating: 0, count: width * height * count)
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
                                        plane: [UInt16](repeating: 0, count: width * height)))
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

        let pixels = width * height
        // Table H.1 and H.1.2.1: the first sample of a restart interval is predicted from 2^(P-Pt-1).
        let initialPrediction = Int32(1) << Int32(precision - pointTransform - 1)
        // The scan's planes one after another, so the loop indexes one buffer. A single plane is
        // moved out of its component rather than copied.
        var planes: [UInt16]
        if scanComponents.count == 1 {
            planes = []
            swap(&planes, &components[scanComponents[0]].plane)
        } else {
            planes = scanComponents.flatMap { components[$0].plane }
        }
        // One difference table per scan component, one after another.
        let differenceTables = scanTables.flatMap { LosslessDifferenceTable($0).entries }
        let bits = try planes.withUnsafeMutableBufferPointer { planes in
            try differenceTables.withUnsafeBufferPointer { differenceTables in
                var scan = LosslessScanLoop(bits: JPEGBitReader(reader.bytes, position: reader.position),
                                            planes: planes.baseAddress!, pixels: pixels, width: width, componentCount: count,
                                            differenceTables: differenceTables.baseAddress!, huffmanTables: scanTables)
                try scan.decodeLines(height: height, selection: selection, restartInterval: restartInterval,
                                     initialPrediction: initialPrediction)
                return scan.bits
            }
        }
        if scanComponents.count == 1 && pointTransform == 0 {
            components[scanComponents[0]].plane = planes
        } else {
            for (index, component) in scanComponents.enumerated() {
                components[component].plane = planes[(index * pixels)..<((index + 1) * pixels)].map { $0 &<< UInt16(pointTransform) }
            }
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

/// The decoding loop of one scan: its entropy-coded bits, the planes it reconstructs and its
/// difference tables. The pointers are valid only inside the closures that lend them.
private struct LosslessScanLoop {
    var bits: JPEGBitReader
    /// The scan's planes one after another, `pixels` samples each.
    let planes: UnsafeMutablePointer<UInt16>
    let pixels: Int
    let width: Int
    let componentCount: Int
    /// One `LosslessDifferenceTable` per scan component, one after another.
    let differenceTables: UnsafePointer<Int32>
    /// The components' Huffman tables, for codes the difference tables do not contain.
    let huffmanTables: [HuffmanTable]

    /// Decodes every line of the scan with predictor `selection`, except where H.1.2.1 replaces it.
    /// The first sample of each restart interval is predicted as `initialPrediction`. The rest of the
    /// interval's first line uses the left neighbour, and the first column of later lines the sample above.
    mutating func decodeLines(height: Int, selection: Int, restartInterval: Int, initialPrediction: Int32) throws {
        // A restart interval counts MCUs, which are single pixels here (of every scan component).
        // NOTE: only the minimal encoder in JPEGLosslessRestartTests writes restart markers, because DCMTK and GDCM do not.
        var nextRestart = restartInterval > 0 ? restartInterval : Int.max
        var intervalStart = 0
        var pixel = 0
        for _ in 0..<height {
            let lineEnd = pixel + width
            while pixel < lineEnd {
                if pixel == nextRestart {
                    try bits.restart()
                    intervalStart = pixel
                    nextRestart += restartInterval
                }
                let firstLineEnd = intervalStart + width
                if pixel == intervalStart {
                    try decodePixel(pixel) { _ in initialPrediction }
                } else if pixel < firstLineEnd {
                    try decodeRun(pixel..<(pixel + 1), selection: 1)
                } else if pixel == lineEnd - width {
                    try decodeRun(pixel..<(pixel + 1), selection: 2)
                } else {
                    try decodeRun(pixel..<(pixel + 1), selection: selection)
                }
                pixel += 1

                // The pixels that follow share one predictor up to the end of the line, the next
                // restart, or the end of the interval's first line.
                var runEnd = min(lineEnd, nextRestart)
                var runSelection = selection
                if pixel < firstLineEnd {
                    runEnd = min(runEnd, firstLineEnd)
                    runSelection = 1
                }
                try decodeRun(pixel..<runEnd, selection: runSelection)
                pixel = runEnd
            }
            // The table lookups skip the end-of-data check of each read, so it runs once per line.
            try bits.checkDataRemains()
        }
    }

    /// Decodes the next difference of `component`.
    @inline(__always)
    mutating func decodeDifference(component: Int) throws -> Int32 {
        // The Huffman table path refills by itself, so the lookup's bits are enough here.
        bits.ensureBits(LosslessDifferenceTable.lookupBits)
        let lookup = bits.peek(LosslessDifferenceTable.lookupBits)
        let entry = differenceTables[component << LosslessDifferenceTable.lookupBits | lookup]
        guard entry != 0 else { return try bits.decodeDifference(huffmanTables[component]) }
        bits.skip(Int(entry & LosslessDifferenceTable.lengthMask))
        return entry >> LosslessDifferenceTable.differenceShift
    }

    /// Decodes the samples of `pixel` in every component, each predicted by `predict` from a
    /// pointer to the sample's place in its plane.
    @inline(__always)
    mutating func decodePixel(_ pixel: Int, predict: (UnsafeMutablePointer<UInt16>) -> Int32) throws {
        for component in 0..<componentCount {
            let sample = planes + (component * pixels + pixel)
            let difference = try decodeDifference(component: component)
            // H.1.2.1: reconstruction is modulo 2^16.
            sample.pointee = UInt16(truncatingIfNeeded: predict(sample) + difference)
        }
    }

    /// Decodes the pixels `run` of one line with predictor `selection` (T.81 table H.1), from the
    /// neighbours a (left), b (above) and c (above left). The caller makes sure they exist.
    mutating func decodeRun(_ run: Range<Int>, selection: Int) throws {
        let width = self.width
        // One loop per predictor, so that the choice is made once per run and not once per sample.
        switch selection {
        case 1:
            for pixel in run { try decodePixel(pixel) { Int32($0[-1]) } }
        case 2:
            for pixel in run { try decodePixel(pixel) { Int32($0[-width]) } }
        case 3:
            for pixel in run { try decodePixel(pixel) { Int32($0[-width - 1]) } }
        case 4:
            for pixel in run { try decodePixel(pixel) { Int32($0[-1]) + Int32($0[-width]) - Int32($0[-width - 1]) } }
        case 5:
            for pixel in run { try decodePixel(pixel) { Int32($0[-1]) + ((Int32($0[-width]) - Int32($0[-width - 1])) >> 1) } }
        case 6:
            for pixel in run { try decodePixel(pixel) { Int32($0[-width]) + ((Int32($0[-1]) - Int32($0[-width - 1])) >> 1) } }
        default:
            for pixel in run { try decodePixel(pixel) { (Int32($0[-1]) + Int32($0[-width])) >> 1 } }
        }
    }
}

/// A lookup table that decodes a lossless difference, Huffman code and extra bits together, in one
/// step. It is indexed by the next `lookupBits` bits of the scan. Each entry is the difference
/// shifted left by `differenceShift`, plus the number of bits the code and its extra bits take.
///
/// An entry is 0 when the code and its extra bits need more than `lookupBits` bits, or when the
/// code is not in the table. The caller then decodes with the `HuffmanTable` (T.81 F.2.2.3).
struct LosslessDifferenceTable {
    /// 12 bits make 4096 entries (16 KiB), which fit a 32 KiB L1 data cache.
    static let lookupBits = 12
    static let lengthMask: Int32 = 0x3F
    static let differenceShift: Int32 = 8
    let entries: [Int32]

    /// Builds the entries from the canonical codes of `table` (T.81 C.2) that are at most `lookupBits` long.
    init(_ table: HuffmanTable) {
        let lookupBits = Self.lookupBits
        var entries = [Int32](repeating: 0, count: 1 << lookupBits)
        for length in 1...lookupBits where table.maxCode[length] >= 0 {
            for code in table.minCode[length]...table.maxCode[length] {
                let category = Int(table.values[table.valuePointer[length] + Int(code - table.minCode[length])])
                // H.1.2.2: category 16 is the difference 32768 and has no extra bits. Categories above
                // 16 are invalid and left to the slow path, which throws.
                guard category <= 16 else { continue }
                let extraBits = category == 16 ? 0 : category
                let totalBits = length + extraBits
                guard totalBits <= lookupBits else { continue }
                for extra in 0..<(1 << extraBits) {
                    let difference: Int32
                    switch category {
                    case 0: difference = 0
                    case 16: difference = 32768
                    default: difference = JPEGBitReader.extend(Int32(extra), category: category)
                    }
                    let entry = difference << Self.differenceShift | Int32(totalBits)
                    let unusedBits = lookupBits - totalBits
                    let first = (Int(code) << extraBits | extra) << unusedBits
                    for index in first..<(first + (1 << unusedBits)) { entries[index] = entry }
                }
            }
        }
        self.entries = entries
    }
}
