// Decodes JPEG-LS pixel data (ISO/IEC 14495-1, lossless and near-lossless) with CharLS 2.4.
import CCharLS

/// The JPEG-LS decoder for transfer syntaxes 1.2.840.10008.1.2.4.80 (lossless) and
/// 1.2.840.10008.1.2.4.81 (near-lossless).
struct JPEGLSDecoder: PixelDecoder {
    var transferSyntaxUIDs: Set<String> { ["1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"] }

    func decode(_ pixelData: DataElement, description: PixelDescription, in dataSet: DataSet) throws -> StoredPixels {
        try decodeEncapsulatedFrames(pixelData, description: description, in: dataSet, codec: "JPEG-LS") { frame in
            try Self.decodeFrame(frame, description: description)
        }
    }

    /// Decodes one JPEG-LS codestream into samples, colour-by-pixel.
    static func decodeFrame(_ stream: [UInt8], description: PixelDescription) throws -> [Int32] {
        // CharLS 2.4.1 spends seconds on a truncated stream before it fails (6.8 s for a
        // 64 x 64 frame measured in a debug build), so a stream without its EOI marker is
        // rejected first. Encoders pad odd-length streams with one byte after EOI, and DCMTK
        // 3.6.7's dcmcjpls writes varying values there (0x24, 0xDC, 0xAC seen), so EOI may end one byte early.
        let tail = stream.suffix(3)
        guard zip(tail, tail.dropFirst()).contains(where: { $0 == 0xFF && $1 == 0xD9 }) else {
            throw CodestreamError("the JPEG-LS stream does not end with an EOI marker (FFD9), so it is truncated")
        }
        guard let decoder = charls_jpegls_decoder_create() else {
            throw CodestreamError("CharLS could not create a decoder (out of memory)")
        }
        defer { charls_jpegls_decoder_destroy(decoder) }

        func check(_ result: charls_jpegls_errc, _ step: String) throws {
            guard result == CHARLS_JPEGLS_ERRC_SUCCESS else {
                throw CodestreamError("CharLS failed to \(step): \(String(cString: charls_get_error_message(result)))")
            }
        }
        return try stream.withUnsafeBytes { source in
            guard let base = source.baseAddress, source.count > 0 else { throw CodestreamError("the frame is empty") }
            try check(charls_jpegls_decoder_set_source_buffer(decoder, base, source.count), "read the stream")
            try check(charls_jpegls_decoder_read_header(decoder), "read the header")
            var info = charls_frame_info()
            try check(charls_jpegls_decoder_get_frame_info(decoder, &info), "read the frame information")
            var interleave = CHARLS_INTERLEAVE_MODE_NONE
            try check(charls_jpegls_decoder_get_interleave_mode(decoder, &interleave), "read the interleave mode")

            let width = Int(info.width)
            let height = Int(info.height)
            let components = Int(info.component_count)
            let precision = Int(info.bits_per_sample)
            guard width == description.columns, height == description.rows else {
                throw CodestreamError("the stream is \(width) x \(height), but Columns x Rows is \(description.columns) x \(description.rows)")
            }
            guard components == description.samplesPerPixel else {
                throw CodestreamError("the stream has \(components) component(s), but Samples per Pixel is \(description.samplesPerPixel)")
            }
            guard precision <= description.bytesPerSample * 8 else {
                throw CodestreamError("sample precision \(precision) does not fit Bits Allocated \(description.bitsAllocated)")
            }

            var size = 0
            try check(charls_jpegls_decoder_get_destination_size(decoder, 0, &size), "compute the output size")
            var output = [UInt8](repeating: 0, count: size)
            try output.withUnsafeMutableBytes { destination in
                guard let target = destination.baseAddress else { throw CodestreamError("the stream decodes to 0 bytes") }
                try check(charls_jpegls_decoder_decode_to_buffer(decoder, target, destination.count, 0), "decode")
            }

            // CharLS writes 2 to 8-bit samples in one byte and 9 to 16-bit samples in two, native
            // endian. Without interleaving (ILV 0) each component is a plane.
            let count = width * height * components
            let sampleWidth = precision <= 8 ? 1 : 2
            guard output.count >= count * sampleWidth else {
                throw CodestreamError("CharLS returned \(output.count) bytes for \(count) samples of \(sampleWidth) byte(s)")
            }
            var samples = [Int32](repeating: 0, count: count)
            let planar = components > 1 && interleave == CHARLS_INTERLEAVE_MODE_NONE
            output.withUnsafeBytes { raw in
                for index in 0..<count {
                    let value = sampleWidth == 1
                        ? Int32(raw[index])
                        : Int32(raw.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self))
                    if planar {
                        let component = index / (width * height)
                        let pixel = index % (width * height)
                        samples[pixel * components + component] = value
                    } else {
                        samples[index] = value
                    }
                }
            }
            return samples
        }
    }
}
