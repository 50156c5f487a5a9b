// 12-bit sequential JPEG streams with restart intervals, written by a minimal encoder in this file
// because dcmcjpeg writes no restart markers. Every block is flat (DC only), which is enough to
// check RSTn handling and the reset of the DC predictors (T.81 F.2.1.3.1).
import Testing
@testable import Imaging

struct JPEGSequentialRestartTests {
    /// Writes one 12-bit component of flat 8 x 8 blocks with quantization 1 and a restart every `interval` blocks.
    static func encode(blockLevels: [Int], blocksAcross: Int, blocksDown: Int, interval: Int) -> [UInt8] {
        let width = blocksAcross * 8
        let height = blocksDown * 8
        var output: [UInt8] = [0xFF, 0xD8]
        // DQT: 8-bit table 0, all 1.
        output += [0xFF, 0xDB, 0x00, 0x43, 0x00] + [UInt8](repeating: 1, count: 64)
        // SOF1: 12-bit, one component (id 1, 1x1, table 0).
        output += [0xFF, 0xC1, 0x00, 0x0B, 12, UInt8(height >> 8), UInt8(height & 0xFF),
                   UInt8(width >> 8), UInt8(width & 0xFF), 0x01, 0x01, 0x11, 0x00]
        // DHT DC 0: 16 codes of length 5 for categories 0...15. DHT AC 0: EOB (0x00) as the 1-bit code 0.
        output += [0xFF, 0xC4, 0x00, UInt8(2 + 17 + 16), 0x00, 0, 0, 0, 0, 16] + [UInt8](repeating: 0, count: 11)
        output += (0...15).map(UInt8.init)
        output += [0xFF, 0xC4, 0x00, UInt8(2 + 17 + 1), 0x10, 1] + [UInt8](repeating: 0, count: 15) + [0x00]
        if interval > 0 {
            output += [0xFF, 0xDD, 0x00, 0x04, UInt8(interval >> 8), UInt8(interval & 0xFF)]
        }
        // SOS: one component, tables 0 and 0, Ss 0, Se 63, Ah and Al 0.
        output += [0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00]

        var bitBuffer = 0
        var bitCount = 0
        func put(_ value: Int, _ count: Int) {
            for shift in stride(from: count - 1, through: 0, by: -1) {
                bitBuffer = bitBuffer << 1 | (value >> shift) & 1
                bitCount += 1
                if bitCount == 8 {
                    output.append(UInt8(bitBuffer))
                    if bitBuffer == 0xFF { output.append(0x00) }
                    bitBuffer = 0
                    bitCount = 0
                }
            }
        }
        var predictor = 0
        var restarts = 0
        for (block, level) in blockLevels.enumerated() {
            if interval > 0 && block > 0 && block % interval == 0 {
                while bitCount != 0 { put(1, 1) }
                output += [0xFF, 0xD0 + UInt8(restarts % 8)]
                restarts += 1
                predictor = 0
            }
            // A DC coefficient of 8 * (level - 2048) decodes to the level in every sample of the block.
            let dc = 8 * (level - 2048)
            let difference = dc - predictor
            predictor = dc
            let category = difference == 0 ? 0 : Int.bitWidth - abs(difference).leadingZeroBitCount
            put(category, 5)
            if category > 0 {
                put(difference < 0 ? difference + (1 << category) - 1 : difference, category)
            }
            put(0, 1)
        }
        while bitCount != 0 { put(1, 1) }
        output += [0xFF, 0xD9]
        return output
    }

    @Test func restartIntervalsDecode() throws {
        let blocksAcross = 5
        let blocksDown = 3
        let levels = (0..<(blocksAcross * blocksDown)).map { ($0 * 1_237 + 100) % 4096 }
        var expected = [Int](repeating: 0, count: blocksAcross * blocksDown * 64)
        for y in 0..<(blocksDown * 8) {
            for x in 0..<(blocksAcross * 8) {
                expected[y * blocksAcross * 8 + x] = levels[(y / 8) * blocksAcross + x / 8]
            }
        }
        // No restarts, a restart every 2 blocks, and one per block row.
        for interval in [0, 2, blocksAcross] {
            let stream = Self.encode(blockLevels: levels, blocksAcross: blocksAcross, blocksDown: blocksDown, interval: interval)
            let image = try JPEGSequentialDCTImage(stream)
            #expect(image.samples.count == expected.count, "interval \(interval)")
            let mismatches = zip(image.samples, expected).filter { Int($0) != $1 }.count
            #expect(mismatches == 0, "interval \(interval): \(mismatches) samples differ")
        }
    }
}
