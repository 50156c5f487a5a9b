// Decodes uncompressed (native) pixel data: implicit and explicit VR little endian, explicit VR
// big endian, and deflated explicit VR little endian, whose data set is already inflated.

/// Reads native pixel data with bulk copies, swapping bytes for big endian and sign-extending
/// signed values narrower than their allocation.
struct NativePixelDecoder: PixelDecoder {
    var transferSyntaxUIDs: Set<String> {
        [TransferSyntax.implicitVRLittleEndian.uid, TransferSyntax.explicitVRLittleEndian.uid,
         TransferSyntax.explicitVRBigEndian.uid, TransferSyntax.deflatedExplicitVRLittleEndian.uid]
    }

    func decode(_ pixelData: DataElement, description: PixelDescription, in dataSet: DataSet) throws -> StoredPixels {
        guard case .bytes(let stored) = pixelData.value else {
            throw DicomError(file: dataSet.file, offset: pixelData.offset, tag: .pixelData,
                             "pixel data is encapsulated, but the transfer syntax says it is native")
        }
        let (expected, overflow) = description.nativeFrameLength.multipliedReportingOverflow(by: description.numberOfFrames)
        guard !overflow, stored.count >= expected else {
            throw DicomError(file: dataSet.file, offset: pixelData.offset, tag: .pixelData,
                             "pixel data holds \(stored.count) bytes, but \(description.numberOfFrames) frame(s) of \(description.rows) x \(description.columns) x \(description.samplesPerPixel) at \(description.bitsAllocated) bits need \(expected); the file is truncated or Rows, Columns or Bits Allocated are wrong")
        }

        let needsSwap = dataSet.isBigEndian && description.bitsAllocated > 8
        let needsSignExtension = description.isSigned && description.bitsStored < description.bitsAllocated && description.bitsAllocated > 1
        let needsInterleave = description.samplesPerPixel > 1 && description.planarConfiguration == 1
        if description.bitsAllocated > 1 && !needsSwap && !needsSignExtension && !needsInterleave {
            return StoredPixels(description: description, bytes: stored.prefix(expected))
        }

        var bytes: [UInt8]
        if description.bitsAllocated == 1 {
            bytes = unpackBits(stored, count: description.samplesPerFrame * description.numberOfFrames)
        } else {
            bytes = Array(stored.prefix(expected))
            // OB values are byte streams, so only word-typed values are swapped (PS3.5 7.3).
            if needsSwap {
                swapBytes(&bytes, width: description.bitsAllocated / 8)
            }
        }
        if needsSignExtension {
            signExtend(&bytes, bitsStored: description.bitsStored, width: description.bytesPerSample)
        }
        if needsInterleave {
            bytes = interleavePlanes(bytes, description: description)
        }
        return StoredPixels(description: description, bytes: bytes[...])
    }

    /// Unpacks 1-bit pixels, least significant bit first (PS3.5 8.1.1). Frames follow each
    /// other without padding to a byte boundary.
    private func unpackBits(_ stored: ArraySlice<UInt8>, count: Int) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: count)
        stored.withUnsafeBufferPointer { input in
            for bit in 0..<count {
                output[bit] = (input[bit >> 3] >> UInt8(bit & 7)) & 1
            }
        }
        return output
    }
}

/// Reverses the byte order of every `width`-byte word.
func swapBytes(_ bytes: inout [UInt8], width: Int) {
    bytes.withUnsafeMutableBytes { raw in
        switch width {
        case 2:
            let words = raw.bindMemory(to: UInt16.self)
            for index in words.indices { words[index] = words[index].byteSwapped }
        case 4:
            let words = raw.bindMemory(to: UInt32.self)
            for index in words.indices { words[index] = words[index].byteSwapped }
        default:
            break
        }
    }
}

/// Sign-extends little endian values whose sign bit is bit `bitsStored - 1`.
func signExtend(_ bytes: inout [UInt8], bitsStored: Int, width: Int) {
    bytes.withUnsafeMutableBytes { raw in
        switch width {
        case 1:
            let shift = UInt8(8 - bitsStored)
            let values = raw.bindMemory(to: Int8.self)
            for index in values.indices { values[index] = (values[index] << shift) >> shift }
        case 2:
            let shift = Int16(16 - bitsStored)
            let values = raw.bindMemory(to: Int16.self)
            for index in values.indices { values[index] = (values[index] << shift) >> shift }
        default:
            let shift = Int32(32 - bitsStored)
            let values = raw.bindMemory(to: Int32.self)
            for index in values.indices { values[index] = (values[index] << shift) >> shift }
        }
    }
}

/// Converts colour-by-plane frames (Planar Configuration 1) to colour-by-pixel.
func interleavePlanes(_ bytes: [UInt8], description: PixelDescription) -> [UInt8] {
    let pixels = description.rows * description.columns
    let width = description.bytesPerSample
    let samples = description.samplesPerPixel
    var output = [UInt8](repeating: 0, count: bytes.count)
    for frame in 0..<description.numberOfFrames {
        let base = frame * pixels * samples * width
        for sample in 0..<samples {
            for pixel in 0..<pixels {
                for byte in 0..<width {
                    output[base + (pixel * samples + sample) * width + byte] = bytes[base + (sample * pixels + pixel) * width + byte]
                }
            }
        }
    }
    return output
}
