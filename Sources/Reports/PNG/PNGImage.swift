// An 8-bit greyscale or RGB raster, checked on creation, that encodes to a PNG file.

/// An image with 8 bits per sample, stored row by row from the top row down.
public struct PNGImage: Sendable, Equatable {
    /// The PNG colour types this encoder writes, with their IHDR codes.
    public enum ColourType: UInt8, Sendable {
        /// One sample per pixel.
        case greyscale = 0
        /// Three samples per pixel: red, green, blue.
        case rgb = 2

        /// Samples per pixel.
        public var samplesPerPixel: Int {
            switch self {
            case .greyscale: return 1
            case .rgb: return 3
            }
        }
    }

    /// Pixels per row.
    public let width: Int
    /// Rows.
    public let height: Int
    public let colourType: ColourType
    /// Samples of the top row first, left to right. RGB pixels store red, green and blue in turn.
    public let samples: [UInt8]

    /// The largest width or height that IHDR can store (PNG limits both to 2^31 - 1).
    public static let maximumDimension = Int(Int32.max)

    /// Creates an image after checking that `samples` fills exactly `width` x `height` pixels.
    ///
    /// - throws: `ReportError` when a dimension is not in 1...2^31 - 1 or the sample count
    ///   does not match the dimensions and colour type.
    public init(width: Int, height: Int, colourType: ColourType, samples: [UInt8]) throws {
        guard (1...Self.maximumDimension).contains(width), (1...Self.maximumDimension).contains(height) else {
            throw ReportError("invalid PNG size \(width) x \(height): width and height must be between 1 and \(Self.maximumDimension)")
        }
        let (pixels, pixelsOverflow) = width.multipliedReportingOverflow(by: height)
        let (expected, samplesOverflow) = pixels.multipliedReportingOverflow(by: colourType.samplesPerPixel)
        guard !pixelsOverflow, !samplesOverflow, samples.count == expected else {
            throw ReportError("\(samples.count) samples for a \(width) x \(height) \(colourType) PNG, expected width x height x \(colourType.samplesPerPixel)")
        }
        self.width = width
        self.height = height
        self.colourType = colourType
        self.samples = samples
    }

    /// Returns the samples of pixel (x, y), counted from the top-left corner.
    public func pixel(x: Int, y: Int) -> ArraySlice<UInt8> {
        let start = (y * width + x) * colourType.samplesPerPixel
        return samples[start..<(start + colourType.samplesPerPixel)]
    }
}
