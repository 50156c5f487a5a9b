// Shared steps of the decoders for compressed (encapsulated) transfer syntaxes: splitting the
// frames, packing decoded samples into stored values and naming the frame in errors.

/// Decodes every frame of encapsulated pixel data with `decodeFrame` and packs the samples as
/// `StoredPixels` expects: little endian, `bytesPerSample` bytes each, sign-extended from Bits Stored.
///
/// - parameters:
///   - codec: the codec name for error messages.
///   - startsFrame: recognises a fragment that starts a codestream, to split frames that span
///     several fragments when there is no offset table.
///   - outputDescription: the layout of the result when decoding changes it (a colour conversion).
///   - decodeFrame: returns `samplesPerFrame` samples, colour-by-pixel, or throws `CodestreamError`.
///     Each sample keeps its low `bytesPerSample` bytes.
func decodeEncapsulatedFrames<Sample: FixedWidthInteger>(
    _ pixelData: DataElement, description: PixelDescription, in dataSet: DataSet, codec: String,
    startsFrame: ((ArraySlice<UInt8>) -> Bool)? = startsWithJPEGStartOfImage,
    outputDescription: PixelDescription? = nil,
    decodeFrame: ([UInt8]) throws -> [Sample]
) throws -> StoredPixels {
    guard case .encapsulated(let encapsulated) = pixelData.value else {
        throw DicomError(file: dataSet.file, offset: pixelData.offset, tag: .pixelData,
                         "\(codec) pixel data must be encapsulated, but it has a defined length")
    }
    guard [8, 16, 32].contains(description.bitsAllocated) else {
        throw DicomError(file: dataSet.file, offset: pixelData.offset, tag: .pixelData,
                         "\(codec) with Bits Allocated \(description.bitsAllocated) is not supported")
    }
    let frames = try encapsulated.frames(count: description.numberOfFrames, in: dataSet, offset: pixelData.offset,
                                         startsFrame: startsFrame)
    let width = description.bytesPerSample
    let frameSamples = description.samplesPerFrame
    var bytes = [UInt8](repeating: 0, count: frameSamples * width * frames.count)
    for (index, frame) in frames.enumerated() {
        let samples: [Sample]
        do {
            samples = try decodeFrame(frame)
        } catch let error as CodestreamError {
            throw DicomError(file: dataSet.file, offset: pixelData.offset, tag: .pixelData,
                             "\(codec) frame \(index) of \(frames.count): \(error.reason)")
        }
        guard samples.count == frameSamples else {
            throw DicomError(file: dataSet.file, offset: pixelData.offset, tag: .pixelData,
                             "\(codec) frame \(index) decodes to \(samples.count) samples, but Rows, Columns and Samples per Pixel need \(frameSamples)")
        }
        let base = index * frameSamples * width
        bytes.withUnsafeMutableBytes { raw in
            let frameBytes = UnsafeMutableRawBufferPointer(rebasing: raw[base..<(base + frameSamples * width)])
            switch width {
            case 1: pack(samples, as: UInt8.self, into: frameBytes)
            case 2: pack(samples, as: UInt16.self, into: frameBytes)
            default: pack(samples, as: UInt32.self, into: frameBytes)  // 4, as Bits Allocated is 8, 16 or 32
            }
        }
    }
    if description.isSigned && description.bitsStored < description.bitsAllocated {
        signExtend(&bytes, bitsStored: description.bitsStored, width: width)
    }
    return StoredPixels(description: outputDescription ?? description, bytes: bytes[...])
}

/// Stores the low `Stored.bitWidth` bits of each sample in `output`, little endian.
private func pack<Sample: FixedWidthInteger, Stored: FixedWidthInteger & UnsignedInteger>(
    _ samples: [Sample], as _: Stored.Type, into output: UnsafeMutableRawBufferPointer
) {
    let width = MemoryLayout<Stored>.size
    samples.withUnsafeBufferPointer { samples in
        for (index, value) in samples.enumerated() {
            output.storeBytes(of: Stored(truncatingIfNeeded: value).littleEndian, toByteOffset: index * width, as: Stored.self)
        }
    }
}

/// Returns whether a fragment starts with a JPEG or JPEG-LS SOI marker (FFD8).
func startsWithJPEGStartOfImage(_ fragment: ArraySlice<UInt8>) -> Bool {
    fragment.count >= 2 && fragment[fragment.startIndex] == 0xFF && fragment[fragment.startIndex + 1] == 0xD8
}

/// A malformed or unsupported compressed codestream. `decodeEncapsulatedFrames` adds the file, tag and frame.
struct CodestreamError: Error {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}
