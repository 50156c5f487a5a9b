// Decodes JPEG 2000 pixel data (ISO/IEC 15444-1, reversible and irreversible) with OpenJPEG 2.5.
import COpenJPEG
import Foundation

/// The JPEG 2000 decoder for transfer syntaxes 1.2.840.10008.1.2.4.90 (lossless only) and
/// 1.2.840.10008.1.2.4.91 (lossless or lossy).
///
/// OpenJPEG applies the inverse multiple-component transform that the codestream signals, so
/// YBR_RCT and YBR_ICT frames come back as RGB, and the result is labelled RGB.
struct JPEG2000Decoder: PixelDecoder {
    var transferSyntaxUIDs: Set<String> { ["1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"] }

    func decode(_ pixelData: DataElement, description: PixelDescription, in dataSet: DataSet) throws -> StoredPixels {
        var output = description
        if ["YBR_RCT", "YBR_ICT"].contains(description.photometricInterpretation) {
            output.photometricInterpretation = "RGB"
        }
        return try decodeEncapsulatedFrames(pixelData, description: description, in: dataSet, codec: "JPEG 2000",
                                            startsFrame: Self.startsCodestream, outputDescription: output) { frame in
            try Self.decodeFrame(frame, description: description)
        }
    }

    /// Returns whether a fragment starts with a J2K SOC marker (FF4F) or a JP2 signature box.
    static func startsCodestream(_ fragment: ArraySlice<UInt8>) -> Bool {
        let start = fragment.startIndex
        guard fragment.count >= 8 else { return false }
        if fragment[start] == 0xFF && fragment[start + 1] == 0x4F { return true }
        return Array(fragment[(start + 4)..<(start + 8)]) == [0x6A, 0x50, 0x20, 0x20]
    }

    /// The bytes OpenJPEG reads and the messages it reports, passed to its C callbacks as user data.
    private final class StreamSource {
        let bytes: [UInt8]
        var position = 0
        var errors: [String] = []
        init(_ bytes: [UInt8]) { self.bytes = bytes }
    }

    /// Decodes one J2K codestream or JP2 file into samples, colour-by-pixel.
    static func decodeFrame(_ frame: [UInt8], description: PixelDescription) throws -> [Int32] {
        let isJP2 = frame.count >= 8 && Array(frame[4..<8]) == [0x6A, 0x50, 0x20, 0x20]
        let hasComponentTransform = try checkMarkerSegments(frame, isJP2: isJP2)
        if ["YBR_RCT", "YBR_ICT"].contains(description.photometricInterpretation) && !hasComponentTransform {
            throw CodestreamError("Photometric Interpretation is \(description.photometricInterpretation), but the codestream has no multiple-component transform (MCT 0 in COD), so its colour space is unknown")
        }
        guard let codec = opj_create_decompress(isJP2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K) else {
            throw CodestreamError("OpenJPEG could not create a decoder")
        }
        defer { opj_destroy_codec(codec) }

        let source = StreamSource(frame)
        let userData = Unmanaged.passUnretained(source).toOpaque()
        _ = opj_set_error_handler(codec, { message, userData in
            guard let message, let userData else { return }
            let source = Unmanaged<StreamSource>.fromOpaque(userData).takeUnretainedValue()
            source.errors.append(String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines))
        }, userData)

        var parameters = opj_dparameters_t()
        opj_set_default_decoder_parameters(&parameters)
        guard opj_setup_decoder(codec, &parameters) != 0 else { throw CodestreamError("OpenJPEG rejected the decoder parameters") }
        // Without strict mode OpenJPEG 2.5 decodes a truncated codestream to a partial image without an error.
        _ = opj_decoder_set_strict_mode(codec, 1)

        guard let stream = opj_stream_create(1 << 16, 1) else { throw CodestreamError("OpenJPEG could not create a stream") }
        defer { opj_stream_destroy(stream) }
        opj_stream_set_user_data(stream, userData, nil)
        opj_stream_set_user_data_length(stream, UInt64(frame.count))
        opj_stream_set_read_function(stream) { buffer, count, userData in
            let source = Unmanaged<StreamSource>.fromOpaque(userData!).takeUnretainedValue()
            let available = source.bytes.count - source.position
            guard available > 0, let buffer else { return OPJ_SIZE_T.max }
            let length = min(Int(count), available)
            source.bytes.withUnsafeBytes { raw in
                buffer.copyMemory(from: raw.baseAddress! + source.position, byteCount: length)
            }
            source.position += length
            return OPJ_SIZE_T(length)
        }
        opj_stream_set_skip_function(stream) { count, userData in
            let source = Unmanaged<StreamSource>.fromOpaque(userData!).takeUnretainedValue()
            // A skip past either end returns -1, which OpenJPEG reads as the end of the stream.
            // Returning a shorter skip would let its byte count pass the data length and trip an assertion.
            let target = source.position + Int(count)
            guard target >= 0, target <= source.bytes.count else {
                source.position = source.bytes.count
                return -1
            }
            source.position = target
            return count
        }
        opj_stream_set_seek_function(stream) { offset, userData in
            let source = Unmanaged<StreamSource>.fromOpaque(userData!).takeUnretainedValue()
            guard offset >= 0, Int(offset) <= source.bytes.count else { return 0 }
            source.position = Int(offset)
            return 1
        }

        func failure(_ step: String) -> CodestreamError {
            let detail = source.errors.isEmpty ? "" : ": " + source.errors.joined(separator: "; ")
            return CodestreamError("OpenJPEG failed to \(step)\(detail)")
        }
        var image: UnsafeMutablePointer<opj_image_t>?
        guard opj_read_header(stream, codec, &image) != 0, let image else { throw failure("read the header") }
        defer { opj_image_destroy(image) }
        guard opj_decode(codec, stream, image) != 0, opj_end_decompress(codec, stream) != 0 else { throw failure("decode") }

        return try withExtendedLifetime(source) { try samples(of: image.pointee, description: description) }
    }

    /// Checks that the main header's marker segments and the tile-parts fit in the data, and
    /// returns whether the COD segment turns on the multiple-component transform.
    ///
    /// OpenJPEG 2.5.0 (Debian 12) ends the process with a failed assertion in
    /// `opj_stream_get_number_byte_left` on some codestreams cut inside the main header, so such
    /// streams are rejected before it reads them.
    @discardableResult
    static func checkMarkerSegments(_ frame: [UInt8], isJP2: Bool) throws -> Bool {
        var position = 0
        if isJP2 {
            // The codestream is the content of the Contiguous Codestream box ('jp2c').
            guard let box = (0..<max(frame.count - 3, 0)).first(where: { frame[$0..<($0 + 4)].elementsEqual([0x6A, 0x70, 0x32, 0x63]) }) else {
                throw CodestreamError("the JP2 file has no Contiguous Codestream box (jp2c)")
            }
            position = box + 4
        }
        func bigEndian(_ offset: Int, _ width: Int) -> Int {
            (0..<width).reduce(0) { $0 << 8 | Int(frame[offset + $1]) }
        }
        guard position + 2 <= frame.count, frame[position] == 0xFF, frame[position + 1] == 0x4F else {
            throw CodestreamError("the codestream does not start with an SOC marker (FF4F)")
        }
        position += 2
        var inTileParts = false
        var hasComponentTransform = false
        while true {
            if position + 2 <= frame.count, frame[position] == 0xFF, frame[position + 1] == 0xD9 { return hasComponentTransform }
            guard position + 4 <= frame.count else {
                throw CodestreamError("the codestream ends inside a marker segment or without an EOC marker (FFD9), at byte \(position)")
            }
            guard frame[position] == 0xFF else {
                // Bytes after the tile-parts other than EOC are left to OpenJPEG, which reports them in strict mode.
                if inTileParts { return hasComponentTransform }
                throw CodestreamError("the main header has no marker at byte \(position)")
            }
            let marker = frame[position + 1]
            let length = bigEndian(position + 2, 2)
            guard length >= 2, position + 2 + length <= frame.count else {
                throw CodestreamError("marker segment FF\(String(marker, radix: 16, uppercase: true)) at byte \(position) passes the end of the codestream")
            }
            if marker == 0x52 && length >= 7 && !inTileParts {
                // COD: Lcod, Scod, then SGcod = progression order, 2 bytes of layers, MCT.
                hasComponentTransform = frame[position + 8] == 1
            }
            guard marker == 0x90 else {
                position += 2 + length
                continue
            }
            // SOT: Psot is the tile-part length from the SOT marker, or 0 for a last tile-part that runs to the end.
            guard length >= 10 else { throw CodestreamError("the SOT segment at byte \(position) is shorter than 10 bytes") }
            let tilePartLength = bigEndian(position + 6, 4)
            if tilePartLength == 0 { return hasComponentTransform }
            guard tilePartLength >= 14, position + tilePartLength <= frame.count else {
                throw CodestreamError("the tile-part at byte \(position) is \(tilePartLength) bytes, which passes the end of the codestream")
            }
            position += tilePartLength
            inTileParts = true
        }
    }

    /// Interleaves the component planes of a decoded image after checking them against the Image Pixel module.
    private static func samples(of image: opj_image_t, description: PixelDescription) throws -> [Int32] {
        let count = Int(image.numcomps)
        guard count == description.samplesPerPixel, let components = image.comps else {
            throw CodestreamError("the stream has \(count) component(s), but Samples per Pixel is \(description.samplesPerPixel)")
        }
        let width = description.columns
        let height = description.rows
        for index in 0..<count {
            let component = components[index]
            guard Int(component.w) == width, Int(component.h) == height, component.data != nil else {
                throw CodestreamError("component \(index) is \(component.w) x \(component.h), but Columns x Rows is \(width) x \(height)")
            }
            guard Int(component.prec) <= description.bytesPerSample * 8 else {
                throw CodestreamError("component \(index) has precision \(component.prec), which does not fit Bits Allocated \(description.bitsAllocated)")
            }
        }
        var samples = [Int32](repeating: 0, count: width * height * count)
        for index in 0..<count {
            let data = components[index].data!
            for pixel in 0..<(width * height) {
                samples[pixel * count + index] = data[pixel]
            }
        }
        return samples
    }
}
