// Decoded stored pixel values and their conversion to physical values.

/// Stored pixel values of all frames, decoded, before Rescale Slope and Intercept.
///
/// `bytes` holds `numberOfFrames * rows * columns * samplesPerPixel` samples, frames first, then
/// rows, then columns, then samples (interleaved), each `bytesPerSample` bytes little endian.
/// Signed values with Bits Stored below Bits Allocated are sign-extended; unused high bits of
/// unsigned values are kept as stored. 1-bit data is unpacked to one byte (0 or 1) per pixel.
public struct StoredPixels: Sendable {
    /// The layout the values were decoded with.
    public var description: PixelDescription
    /// The values, little endian.
    public var bytes: [UInt8]

    /// Writes the samples of one frame to `output` as `value * slope + intercept`.
    ///
    /// - precondition: `output.count == description.samplesPerFrame`.
    public func convertFrame(_ frame: Int, slope: Double, intercept: Double, into output: UnsafeMutableBufferPointer<Float>) {
        let count = description.samplesPerFrame
        precondition(output.count == count, "output holds \(output.count) samples, the frame \(count)")
        let start = frame * count * description.bytesPerSample
        bytes.withUnsafeBytes { raw in
            let frameBytes = UnsafeRawBufferPointer(rebasing: raw[start..<(start + count * description.bytesPerSample)])
            switch (description.bytesPerSample, description.isSigned) {
            case (1, false): Self.rescale(frameBytes.bindMemory(to: UInt8.self), slope, intercept, output)
            case (1, true): Self.rescale(frameBytes.bindMemory(to: Int8.self), slope, intercept, output)
            case (2, false): Self.rescale(frameBytes.bindMemory(to: UInt16.self), slope, intercept, output)
            case (2, true): Self.rescale(frameBytes.bindMemory(to: Int16.self), slope, intercept, output)
            case (4, false): Self.rescale(frameBytes.bindMemory(to: UInt32.self), slope, intercept, output)
            default: Self.rescale(frameBytes.bindMemory(to: Int32.self), slope, intercept, output)
            }
        }
    }

    // Values are little endian, and so is every platform Swift runs this on.
    private static func rescale<T: BinaryInteger>(_ input: UnsafeBufferPointer<T>, _ slope: Double, _ intercept: Double, _ output: UnsafeMutableBufferPointer<Float>) {
        if slope == 1 && intercept == 0 {
            for index in 0..<input.count { output[index] = Float(input[index]) }
            return
        }
        let slope32 = Float(slope)
        let intercept32 = Float(intercept)
        if Double(slope32) == slope && Double(intercept32) == intercept {
            for index in 0..<input.count { output[index] = Float(input[index]) * slope32 + intercept32 }
        } else {
            for index in 0..<input.count { output[index] = Float(Double(input[index]) * slope + intercept) }
        }
    }
}
