import Foundation
import TestSupport
import Reports
import Testing

@Suite struct PNGImageTests {
    /// Returns a greyscale pattern. With an odd width, a wrong row stride shifts every later row.
    static func greyscalePattern(width: Int, height: Int) -> [UInt8] {
        var samples: [UInt8] = []
        for y in 0..<height {
            for x in 0..<width { samples.append(UInt8((x * 37 + y * 11 + x * x * y) % 256)) }
        }
        return samples
    }

    /// Returns an RGB pattern whose three channels differ, so swapped channels show.
    static func rgbPattern(width: Int, height: Int) -> [UInt8] {
        var samples: [UInt8] = []
        for y in 0..<height {
            for x in 0..<width {
                samples += [UInt8((x * 40) % 256), UInt8((y * 60) % 256), UInt8((x + 3 * y) * 20 % 256)]
            }
        }
        return samples
    }

    @Test func headerBytesMatchSpecification() throws {
        let image = try PNGImage(width: 300, height: 2, colourType: .rgb, samples: Self.rgbPattern(width: 300, height: 2))
        let file = try image.encoded()

        #expect(Array(file[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        // IHDR: data length 13, type, width 300 = 0x012C, height 2, bit depth 8, colour type 2, then 0, 0, 0.
        #expect(Array(file[8..<12]) == [0, 0, 0, 13])
        #expect(String(decoding: file[12..<16], as: UTF8.self) == "IHDR")
        #expect(Array(file[16..<20]) == [0, 0, 0x01, 0x2C])
        #expect(Array(file[20..<24]) == [0, 0, 0, 2])
        #expect(Array(file[24..<29]) == [8, 2, 0, 0, 0])
        // IEND: zero length, type, and the CRC-32 of "IEND", 0xAE426082.
        #expect(Array(file.suffix(12)) == [0, 0, 0, 0, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82])
    }

    @Test(.enabled(if: pythonHasModule("SimpleITK")))
    func greyscaleDecodesInSimpleITK() throws {
        for (width, height) in [(1, 1), (7, 5), (257, 33)] {
            let samples = Self.greyscalePattern(width: width, height: height)
            let image = try PNGImage(width: width, height: height, colourType: .greyscale, samples: samples)

            // Level 0 writes stored deflate blocks, level 6 compressed ones.
            for level: Int32 in [0, 6] {
                let decoded = try decodeWithSimpleITK(try image.encoded(compressionLevel: level))

                #expect(decoded.width == width)
                #expect(decoded.height == height)
                #expect(decoded.samplesPerPixel == 1)
                #expect(decoded.samples == samples, "pixels differ for \(width) x \(height) at level \(level)")
            }
        }
    }

    @Test(.enabled(if: pythonHasModule("SimpleITK")))
    func rgbDecodesInSimpleITK() throws {
        for (width, height) in [(1, 1), (6, 4), (131, 77)] {
            let samples = Self.rgbPattern(width: width, height: height)
            let image = try PNGImage(width: width, height: height, colourType: .rgb, samples: samples)

            let decoded = try decodeWithSimpleITK(try image.encoded(compressionLevel: 9))

            #expect(decoded.width == width)
            #expect(decoded.height == height)
            #expect(decoded.samplesPerPixel == 3)
            #expect(decoded.samples == samples, "pixels differ for \(width) x \(height)")
        }
    }

    @Test func pixelReadsRowMajorSamples() throws {
        let image = try PNGImage(width: 6, height: 4, colourType: .rgb, samples: Self.rgbPattern(width: 6, height: 4))

        // Pixel (5, 2): red 5 * 40, green 2 * 60, blue (5 + 6) * 20.
        #expect(Array(image.pixel(x: 5, y: 2)) == [200, 120, 220])
    }

    @Test func wrongSampleCountIsRejected() {
        #expect(throws: ReportError.self) {
            try PNGImage(width: 7, height: 5, colourType: .greyscale, samples: [UInt8](repeating: 0, count: 34))
        }
        #expect(throws: ReportError.self) {
            try PNGImage(width: 7, height: 5, colourType: .greyscale, samples: [UInt8](repeating: 0, count: 36))
        }
        // Greyscale-sized samples for an RGB image.
        #expect(throws: ReportError.self) {
            try PNGImage(width: 7, height: 5, colourType: .rgb, samples: [UInt8](repeating: 0, count: 35))
        }
    }

    @Test func invalidCompressionLevelIsRejected() throws {
        let image = try PNGImage(width: 1, height: 1, colourType: .greyscale, samples: [7])

        #expect(throws: ReportError.self) { try image.encoded(compressionLevel: 10) }
        #expect(throws: ReportError.self) { try image.encoded(compressionLevel: -1) }
    }

    @Test func emptyOrHugeSizeIsRejected() {
        #expect(throws: ReportError.self) {
            try PNGImage(width: 0, height: 5, colourType: .greyscale, samples: [])
        }
        #expect(throws: ReportError.self) {
            try PNGImage(width: 4, height: -1, colourType: .greyscale, samples: [])
        }
        #expect(throws: ReportError.self) {
            try PNGImage(width: PNGImage.maximumDimension + 1, height: 1, colourType: .greyscale, samples: [0])
        }
    }
}
