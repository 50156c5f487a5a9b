// Decodes JPEG Baseline (process 1) and JPEG Extended (processes 2 and 4) pixel data with
// libjpeg-turbo, converting YCbCr to RGB where the Photometric Interpretation is YBR_FULL or YBR_FULL_422.
import CLibJPEG

/// The JPEG decoder for transfer syntaxes 1.2.840.10008.1.2.4.50 (baseline) and
/// 1.2.840.10008.1.2.4.51 (extended).
///
/// Frames with Photometric Interpretation YBR_FULL_422 or YBR_FULL are converted to RGB, and the
/// result is labelled RGB. RGB frames are read without conversion. Other colour frames
/// (YBR_PARTIAL_420, YBR_PARTIAL_422) are returned as decoded YCbCr.
///
/// 12-bit frames (process 4) are decoded by `JPEGSequentialDCTImage` in Swift, without chroma
/// subsampling or colour conversion, because Debian's libjpeg-turbo 2.1.5 is built for 8-bit samples only.
struct JPEGBaselineDecoder: PixelDecoder {
    var transferSyntaxUIDs: Set<String> { ["1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"] }

    func decode(_ pixelData: DataElement, description: PixelDescription, in dataSet: DataSet) throws -> StoredPixels {
        var output = description
        let streamSpace: J_COLOR_SPACE
        let outputSpace: J_COLOR_SPACE
        switch (description.samplesPerPixel, description.photometricInterpretation) {
        case (1, _):
            (streamSpace, outputSpace) = (JCS_GRAYSCALE, JCS_GRAYSCALE)
        case (_, "RGB"):
            (streamSpace, outputSpace) = (JCS_RGB, JCS_RGB)
        case (_, "YBR_FULL_422"), (_, "YBR_FULL"):
            (streamSpace, outputSpace) = (JCS_YCbCr, JCS_RGB)
            output.photometricInterpretation = "RGB"
        default:
            (streamSpace, outputSpace) = (JCS_YCbCr, JCS_YCbCr)
        }
        return try decodeEncapsulatedFrames(pixelData, description: description, in: dataSet, codec: "JPEG",
                                            outputDescription: output) { frame in
            try Self.decodeFrame(frame, description: description, streamSpace: streamSpace, outputSpace: outputSpace)
        }
    }

    /// Decodes one JPEG stream into samples, colour-by-pixel.
    static func decodeFrame(_ stream: [UInt8], description: PixelDescription,
                            streamSpace: J_COLOR_SPACE, outputSpace: J_COLOR_SPACE) throws -> [Int32] {
        let precision = try framePrecision(stream)
        if precision == 12 {
            return try decode12Bit(stream, description: description, streamSpace: streamSpace, outputSpace: outputSpace)
        }
        guard precision == 8 else {
            throw CodestreamError("sample precision \(precision) is not 8 or 12, the precisions of JPEG Baseline and Extended")
        }
        var result = stdnet_jpeg_result()
        let decoded = stream.withUnsafeBufferPointer { input in
            stdnet_jpeg_decode(input.baseAddress, UInt(input.count), Int32(streamSpace.rawValue), Int32(outputSpace.rawValue), &result)
        }
        guard let decoded else {
            let message = withUnsafeBytes(of: &result.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw CodestreamError("libjpeg-turbo failed: \(message)")
        }
        defer { free(decoded) }

        let width = Int(result.width)
        let height = Int(result.height)
        let components = Int(result.components)
        guard width == description.columns, height == description.rows else {
            throw CodestreamError("the stream is \(width) x \(height), but Columns x Rows is \(description.columns) x \(description.rows)")
        }
        guard components == description.samplesPerPixel else {
            throw CodestreamError("the stream decodes to \(components) component(s), but Samples per Pixel is \(description.samplesPerPixel)")
        }
        let count = width * height * components
        return (0..<count).map { Int32(decoded[$0]) }
    }

    /// Decodes a 12-bit frame in Swift, because Debian's libjpeg-turbo 2.1.5 is built for 8-bit
    /// samples only (its 12-bit API `jpeg12_*` arrived in libjpeg-turbo 3.0).
    private static func decode12Bit(_ stream: [UInt8], description: PixelDescription,
                                    streamSpace: J_COLOR_SPACE, outputSpace: J_COLOR_SPACE) throws -> [Int32] {
        guard streamSpace == outputSpace else {
            throw CodestreamError("12-bit JPEG in \(description.photometricInterpretation) needs a YCbCr to RGB conversion, which is not supported; convert the file with 'dcmdjpeg' first")
        }
        guard description.bytesPerSample >= 2 else {
            throw CodestreamError("12-bit samples do not fit Bits Allocated \(description.bitsAllocated)")
        }
        let image = try JPEGSequentialDCTImage(stream)
        guard image.width == description.columns, image.height == description.rows else {
            throw CodestreamError("the stream is \(image.width) x \(image.height), but Columns x Rows is \(description.columns) x \(description.rows)")
        }
        guard image.samples.count == description.samplesPerFrame else {
            throw CodestreamError("the stream decodes to \(image.samples.count / (image.width * image.height)) component(s), but Samples per Pixel is \(description.samplesPerPixel)")
        }
        return image.samples
    }

    /// Returns the sample precision P of the stream's frame header.
    private static func framePrecision(_ stream: [UInt8]) throws -> Int {
        var reader = JPEGMarkerReader(stream)
        guard try reader.nextMarker() == 0xD8 else { throw CodestreamError("the stream does not start with an SOI marker (FFD8)") }
        while true {
            let marker = try reader.nextMarker()
            switch marker {
            case 0xC0, 0xC1, 0xC2:
                let header = try reader.segment()
                guard let precision = header.first else { throw CodestreamError("the frame header (SOF\(marker - 0xC0)) is empty") }
                return Int(precision)
            case 0xC3, 0xC5...0xC7, 0xC9...0xCB, 0xCD...0xCF:
                throw CodestreamError("the stream uses JPEG process SOF\(marker - 0xC0), which the JPEG Baseline and Extended transfer syntaxes do not allow")
            case 0xD9, 0xDA:
                throw CodestreamError("the stream has no frame header before its first scan")
            default:
                _ = try reader.segment()
            }
        }
    }
}
