// Decodes RLE Lossless pixel data (PS3.5 annex G): per frame a 64-byte header of segment offsets,
// then one PackBits segment per byte plane, most significant byte first.

/// The RLE Lossless decoder (transfer syntax 1.2.840.10008.1.2.5).
struct RLELosslessDecoder: PixelDecoder {
    var transferSyntaxUIDs: Set<String> { [TransferSyntax.rleLossless.uid] }

    func decode(_ pixelData: DataElement, description: PixelDescription, in dataSet: DataSet) throws -> StoredPixels {
        guard case .encapsulated(let encapsulated) = pixelData.value else {
            throw DicomError(file: dataSet.file, offset: pixelData.offset, tag: .pixelData,
                             "RLE Lossless pixel data must be encapsulated, but it has a defined length")
        }
        guard description.bitsAllocated >= 8 else {
            throw DicomError(file: dataSet.file, offset: pixelData.offset, tag: .pixelData,
                             "RLE Lossless with Bits Allocated \(description.bitsAllocated) is not supported")
        }
        let frames = try encapsulated.frames(count: description.numberOfFrames, in: dataSet, offset: pixelData.offset)
        let frameLength = description.samplesPerFrame * description.bytesPerSample
        var bytes = [UInt8](repeating: 0, count: frameLength * frames.count)
        for (index, frame) in frames.enumerated() {
            try decodeFrame(frame, description: description, into: &bytes, at: index * frameLength) { reason in
                DicomError(file: dataSet.file, offset: pixelData.offset, tag: .pixelData, "RLE frame \(index): \(reason)")
            }
        }
        if description.isSigned && description.bitsStored < description.bitsAllocated {
            signExtend(&bytes, bitsStored: description.bitsStored, width: description.bytesPerSample)
        }
        return StoredPixels(description: description, bytes: bytes[...])
    }

    private func decodeFrame(_ frame: [UInt8], description: PixelDescription, into output: inout [UInt8], at base: Int,
                             error: (String) -> DicomError) throws {
        guard frame.count >= 64 else { throw error("the frame is \(frame.count) bytes, shorter than the 64-byte RLE header") }
        func header(_ index: Int) -> Int {
            Int(UInt32(frame[index * 4]) | UInt32(frame[index * 4 + 1]) << 8 | UInt32(frame[index * 4 + 2]) << 16 | UInt32(frame[index * 4 + 3]) << 24)
        }
        let width = description.bytesPerSample
        let samples = description.samplesPerPixel
        let pixels = description.rows * description.columns
        let segmentCount = header(0)
        guard segmentCount == width * samples else {
            throw error("the header declares \(segmentCount) segments, but \(samples) sample(s) of \(width) byte(s) need \(width * samples)")
        }

        for segment in 0..<segmentCount {
            let start = header(segment + 1)
            let end = segment + 1 < segmentCount ? header(segment + 2) : frame.count
            guard start >= 64, start <= end, end <= frame.count else {
                throw error("segment \(segment) spans bytes \(start)..<\(end) of a \(frame.count)-byte frame")
            }
            // Segment order is sample by sample, most significant byte first; output is little endian.
            let sample = segment / width
            let byteInSample = width - 1 - segment % width
            var written = 0
            var position = start
            func put(_ value: UInt8) {
                if written < pixels {
                    output[base + (written * samples + sample) * width + byteInSample] = value
                }
                written += 1
            }
            while position < end && written < pixels {
                let control = Int(Int8(bitPattern: frame[position]))
                position += 1
                if control >= 0 {
                    let count = control + 1
                    guard position + count <= end else { throw error("segment \(segment) literal run passes the end of the segment") }
                    for offset in 0..<count { put(frame[position + offset]) }
                    position += count
                } else if control != -128 {
                    guard position < end else { throw error("segment \(segment) replicate run passes the end of the segment") }
                    for _ in 0..<(1 - control) { put(frame[position]) }
                    position += 1
                }
            }
            guard written >= pixels else {
                throw error("segment \(segment) decodes to \(written) bytes, the image needs \(pixels)")
            }
        }
    }
}
