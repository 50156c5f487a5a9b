// Decoded stored pixel values and their conversion to physical values.

/// Stored pixel values of all frames, decoded, before Rescale Slope and Intercept.
///
/// `bytes` contains `numberOfFrames * rows * columns * samplesPerPixel` samples, frames first, then
/// rows, then columns, then samples (interleaved), each `bytesPerSample` bytes little endian.
/// Signed values with Bits Stored below Bits Allocated are sign-extended; unused high bits of
/// unsigned values are kept as stored. 1-bit data is unpacked to one byte (0 or 1) per pixel.
public struct StoredPixels: Sendable {
    /// The layout the values were decoded with.
    public var description: PixelDescription
    /// The values, little endian. Native little endian data is a slice of the file's bytes, not a copy.
    public var bytes: ArraySlice<UInt8>

    /// Writes the samples of one frame to `output` as `value * slope + intercept`.
    ///
    /// - precondition: `output.count == description.samplesPerFrame`.
    public func convertFrame(_ frame: Int, slope: Double, intercept: Double, into output: UnsafeMutableBufferPointer<Float>) {
        let count = description.samplesPerFrame
        precondition(output.count == count, "output holds \(output.count) samples, the frame \(count)")
        let start = frame * count * description.bytesPerSample
        bytes.withUnsafeBytes { raw in
            let frameBytes = UnsafeRawBufferPointer(rebasing: raw[start..<(start + count * description.bytesPerSample)])
            // Slices of the file can start at an odd offset, so values are loaded unaligned.
            switch (description.bytesPerSample, description.isSigned) {
            case (1, false): Self.rescale(frameBytes, UInt8.self, slope, intercept, output)
            case (1, true): Self.rescale(frameBytes, Int8.self, slope, intercept, output)
            case (2, false): Self.rescale(frameBytes, UInt16.self, slope, intercept, output)
            case (2, true): Self.rescale(frameBytes, Int16.self, slope, intercept, output)
            case (4, false): Self.rescale(frameBytes, UInt32.self, slope, intercept, output)
            default: Self.rescale(frameBytes, Int32.self, slope, intercept, output)
            }
        }
    }

    // Values are little endian, and so is every platform Swift runs this on.
    private static func rescale<T: FixedWidthInteger>(_ input: UnsafeRawBufferPointer, _ type: T.Type, _ slope: Double, _ intercept: Double,
                                                      _ output: UnsafeMutableBufferPointer<Float>) {
        let width = MemoryLayout<T>.size
        let count = output.count
        let intercept32 = Float(intercept)
        // With slope 1, a float intercept and 16-bit values, Float(value) is exact and the sum
        // rounds once, so this gives the same result as the double expression below.
        if slope == 1 && Double(intercept32) == intercept && width <= 2 {
            for index in 0..<count {
                output[index] = Float(input.loadUnaligned(fromByteOffset: index * width, as: T.self)) + intercept32
            }
        } else {
            for index in 0..<count {
                output[index] = Float(Double(input.loadUnaligned(fromByteOffset: index * width, as: T.self)) * slope + intercept)
            }
        }
    }
}
