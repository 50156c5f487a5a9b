// The plug-in point for pixel data decoding: one decoder per family of transfer syntaxes.

/// Decodes the Pixel Data element of one transfer syntax family into stored values.
///
/// To add a codec, write a type conforming to this protocol and add it to `PixelDecoders.all`.
public protocol PixelDecoder: Sendable {
    /// The UIDs of the transfer syntaxes this decoder reads.
    var transferSyntaxUIDs: Set<String> { get }

    /// Decodes every frame of `pixelData`.
    ///
    /// - parameters:
    ///   - pixelData: the Pixel Data element as parsed.
    ///   - description: the layout from the Image Pixel module.
    ///   - dataSet: the data set it came from, for its byte order and file name.
    /// - throws: `DicomError` naming the file, the tag and the offset.
    func decode(_ pixelData: DataElement, description: PixelDescription, in dataSet: DataSet) throws -> StoredPixels
}

/// The registered pixel decoders.
public enum PixelDecoders {
    /// Every decoder this module has, one per transfer syntax family.
    public static let all: [any PixelDecoder] = [
        NativePixelDecoder(), RLELosslessDecoder(), JPEGLosslessDecoder(), JPEGLSDecoder(), JPEG2000Decoder(), JPEGBaselineDecoder(),
    ]

    /// Returns the decoder for a transfer syntax.
    ///
    /// - throws: `DicomError` naming the transfer syntax UID and name when no decoder reads it
    ///   (for example High-Throughput JPEG 2000 or MPEG video).
    public static func decoder(for syntax: TransferSyntax, file: String) throws -> any PixelDecoder {
        if let decoder = all.first(where: { $0.transferSyntaxUIDs.contains(syntax.uid) }) {
            return decoder
        }
        throw DicomError(file: file, tag: .pixelData,
                         "pixel data in transfer syntax \(syntax.uid) (\(syntax.name)) cannot be decoded: this reader has no decoder for it yet; convert the file to an uncompressed syntax first, for example with 'gdcmconv --raw' or 'dcmdjpeg'")
    }
}

extension DicomFile {
    /// Decodes the stored pixel values of every frame.
    ///
    /// - throws: `DicomError` when Pixel Data is missing, its transfer syntax has no decoder, or it is malformed.
    public func storedPixels() throws -> StoredPixels {
        guard !stoppedBeforePixelData else {
            throw DicomError(file: path, tag: .pixelData, "the file was read with stopBeforePixelData; read it in full to decode pixels")
        }
        guard let pixelData = dataSet[.pixelData] else {
            throw DicomError(file: path, offset: byteCount, tag: .pixelData,
                             "Pixel Data is missing before the end of the data at this offset; the file contains no image or is truncated")
        }
        let description = try PixelDescription(dataSet)
        let decoder = try PixelDecoders.decoder(for: transferSyntax, file: path)
        return try decoder.decode(pixelData, description: description, in: dataSet)
    }
}
