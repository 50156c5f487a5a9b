// Transfer syntaxes: how a data set and its pixel data are encoded (PS3.5 section 10, PS3.6 annex A).

/// The encoding of a data set: VR explicit or implicit, byte order, deflate, and pixel compression.
public struct TransferSyntax: Hashable, Sendable, CustomStringConvertible {
    /// The transfer syntax UID, e.g. "1.2.840.10008.1.2.1".
    public let uid: String
    /// The name from PS3.6, or "unknown transfer syntax".
    public let name: String
    /// Whether each element header carries its VR.
    public let isExplicitVR: Bool
    /// Whether numbers in the data set are big endian.
    public let isBigEndian: Bool
    /// Whether the data set after the file meta information is deflated (raw deflate, RFC 1951).
    public let isDeflated: Bool
    /// Whether pixel data is encapsulated in fragments (compressed).
    public let isEncapsulated: Bool

    public static let implicitVRLittleEndian = TransferSyntax(
        uid: "1.2.840.10008.1.2", name: "Implicit VR Little Endian",
        isExplicitVR: false, isBigEndian: false, isDeflated: false, isEncapsulated: false)
    public static let explicitVRLittleEndian = TransferSyntax(
        uid: "1.2.840.10008.1.2.1", name: "Explicit VR Little Endian",
        isExplicitVR: true, isBigEndian: false, isDeflated: false, isEncapsulated: false)
    public static let deflatedExplicitVRLittleEndian = TransferSyntax(
        uid: "1.2.840.10008.1.2.1.99", name: "Deflated Explicit VR Little Endian",
        isExplicitVR: true, isBigEndian: false, isDeflated: true, isEncapsulated: false)
    public static let explicitVRBigEndian = TransferSyntax(
        uid: "1.2.840.10008.1.2.2", name: "Explicit VR Big Endian",
        isExplicitVR: true, isBigEndian: true, isDeflated: false, isEncapsulated: false)
    public static let rleLossless = encapsulated("1.2.840.10008.1.2.5", "RLE Lossless")

    /// Every transfer syntax this module recognises by UID. Those without a decoder in
    /// `PixelDecoders` still parse; only their pixel data fails, with the name.
    public static let known: [TransferSyntax] = [
        implicitVRLittleEndian, explicitVRLittleEndian, deflatedExplicitVRLittleEndian, explicitVRBigEndian,
        rleLossless,
        encapsulated("1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)"),
        encapsulated("1.2.840.10008.1.2.4.51", "JPEG Extended (Process 2 & 4)"),
        encapsulated("1.2.840.10008.1.2.4.57", "JPEG Lossless, Non-Hierarchical (Process 14)"),
        encapsulated("1.2.840.10008.1.2.4.70", "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14, Selection Value 1)"),
        encapsulated("1.2.840.10008.1.2.4.80", "JPEG-LS Lossless Image Compression"),
        encapsulated("1.2.840.10008.1.2.4.81", "JPEG-LS Lossy (Near-Lossless) Image Compression"),
        encapsulated("1.2.840.10008.1.2.4.90", "JPEG 2000 Image Compression (Lossless Only)"),
        encapsulated("1.2.840.10008.1.2.4.91", "JPEG 2000 Image Compression"),
        encapsulated("1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000 Image Compression (Lossless Only)"),
        encapsulated("1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000 Image Compression"),
    ]

    /// Returns the transfer syntax for a UID; an unknown UID is taken to be an encapsulated
    /// explicit VR little endian syntax, as PS3.5 section 10 requires of every newer one.
    public static func forUID(_ uid: String) -> TransferSyntax {
        known.first { $0.uid == uid } ?? encapsulated(uid, "unknown transfer syntax")
    }

    private static func encapsulated(_ uid: String, _ name: String) -> TransferSyntax {
        TransferSyntax(uid: uid, name: name, isExplicitVR: true, isBigEndian: false, isDeflated: false, isEncapsulated: true)
    }

    public var description: String { "\(uid) (\(name))" }
}
