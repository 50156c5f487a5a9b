// JPEG Lossless streams with restart intervals, written by a minimal encoder in this file because
// none of the encoders the tests run (DCMTK, GDCM) writes restart markers in lossless mode. The
// encoder follows ITU-T T.81 H.1.2.1: after each RSTn the first line of the interval is predicted
// like the first line of the image.
import Testing
@testable import Imaging

struct JPEGLosslessRestartTests {
    /// Writes one component with every category (0-16) coded in 5 bits, and a restart every `interval` pixels.
    static func encode(_ values: [Int], width: Int, height: Int, precision: Int, selection: Int, interval: Int) -> [UInt8] {
        var output: [UInt8] = [0xFF, 0xD8]
        // SOF3: precision, height, width, one component (id 1, 1x1, table 0).
        output += [0xFF, 0xC3, 0x00, 0x0B, UInt8(precision), UInt8(height >> 8), UInt8(height & 0xFF),
                   UInt8(width >> 8), UInt8(width & 0xFF), 0x01, 0x01, 0x11, 0x00]
        // DHT: class 0, destination 0, 17 codes of length 5 for categories 0...16.
        output += [0xFF, 0xC4, 0x00, UInt8(2 + 17 + 17), 0x00, 0, 0, 0, 0, 17] + [UInt8](repeating: 0, count: 11)
        output += (0...16).map(UInt8.init)
        output += [0xFF, 0xDD, 0x00, 0x04, UInt8(interval >> 8), UInt8(interval & 0xFF)]
        // SOS: one component, table 0, Ss = selection, Se = 0, Ah = 0, Al = 0.
        output += [0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, UInt8(selection), 0x00, 0x00]

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
        func flushWithOnes() {
            while bitCount != 0 { put(1, 1) }
        }

        var intervalStart = 0
        var restarts = 0
        for pixel in 0..<(width * height) {
            if pixel > 0 && pixel % interval == 0 {
                flushWithOnes()
                output += [0xFF, 0xD0 + UInt8(restarts % 8)]
                restarts += 1
                intervalStart = pixel
            }
            let x = pixel % width
            let prediction: Int
            if pixel == intervalStart {
                prediction = 1 << (precision - 1)
            } else if pixel - intervalStart < width {
                prediction = values[pixel - 1]
            } else if x == 0 {
                prediction = values[pixel - width]
            } else {
                let a = values[pixel - 1]
                let b = values[pixel - width]
                let c = values[pixel - width - 1]
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
            // Differences are taken modulo 2^16 and coded in the range -32767...32768.
            var difference = (values[pixel] - prediction) & 0xFFFF
            if difference > 32768 { difference -= 65536 }
            let category = difference == 0 ? 0 : Int.bitWidth - abs(difference).leadingZeroBitCount
            put(category, 5)
            if category > 0 && category < 16 {
                put(difference < 0 ? difference + (1 << category) - 1 : difference, category)
            }
        }
        flushWithOnes()
        output += [0xFF, 0xD9]
        return output
    }

    @Test("restart intervals decode", arguments: 1...7)
    func restartIntervalsDecode(selection: Int) throws {
        let width = 37
        let height = 23
        // 16-bit values with large jumps, so categories up to 16 occur.
        let values = (0..<(width * height)).map { index in (index * 7919 + (index % width) * 40503) & 0xFFFF }
        // Intervals shorter than a line, exactly a line, and spanning several lines.
        for interval in [5, width, 3 * width + 4] {
            let stream = Self.encode(values, width: width, height: height, precision: 16, selection: selection, interval: interval)
            let image = try JPEGLosslessImage(stream)
            #expect(image.samples.count == values.count, "interval \(interval)")
            let mismatches = zip(image.samples, values).filter { Int($0) != $1 }.count
            #expect(mismatches == 0, "interval \(interval): \(mismatches) samples differ")
        }
    }
}
