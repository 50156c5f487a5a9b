// Errors from reading DICOM files, each naming the file and, where one exists, the offset and tag.

/// A failure to read or decode a DICOM file.
///
/// Messages name the file, the byte offset in it and the tag, so that a PACS administrator can
/// find the bad object. Offsets in a deflated data set count bytes of the inflated stream.
public struct DicomError: Error, CustomStringConvertible, Sendable {
    /// The file that failed.
    public var file: String
    /// Byte offset from the start of the file (or of the inflated data set), when known.
    public var offset: Int?
    /// The attribute being read, when known.
    public var tag: DicomTag?
    /// The problem and, where possible, the remedy.
    public var reason: String
    /// Whether the bytes do not start as DICOM at all, so the file is most likely another kind
    /// of file rather than a damaged DICOM one.
    public var isNotDicom: Bool

    /// Creates an error.
    public init(file: String, offset: Int? = nil, tag: DicomTag? = nil, _ reason: String, isNotDicom: Bool = false) {
        self.file = file
        self.offset = offset
        self.tag = tag
        self.reason = reason
        self.isNotDicom = isNotDicom
    }

    public var description: String {
        file + ": " + detail
    }

    /// The message without the file name: offset, tag and reason.
    public var detail: String {
        var parts: [String] = []
        if let offset { parts.append("offset \(offset)") }
        if let tag { parts.append("tag \(tag)") }
        return (parts + [reason]).joined(separator: ": ")
    }
}
