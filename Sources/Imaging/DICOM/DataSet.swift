// A DICOM data set: attributes by tag, read from one file or one sequence item.

/// The attributes of one object or sequence item, with the byte order their values use.
public struct DataSet: Sendable {
    /// The attributes by tag.
    public var elements: [DicomTag: DataElement]
    /// Whether binary values are big endian (Explicit VR Big Endian only).
    public var isBigEndian: Bool
    /// The file the data set was read from, for error messages.
    public var file: String

    /// Creates an empty data set.
    public init(file: String, isBigEndian: Bool = false) {
        self.elements = [:]
        self.isBigEndian = isBigEndian
        self.file = file
    }

    /// Returns the element with a tag, if present.
    public subscript(tag: DicomTag) -> DataElement? {
        elements[tag]
    }

    /// Whether the data set contains a tag.
    public func contains(_ tag: DicomTag) -> Bool {
        elements[tag] != nil
    }

    /// Returns an error about `tag` in this data set's file, at the element's offset where present.
    public func error(_ tag: DicomTag, _ reason: String) -> DicomError {
        DicomError(file: file, offset: elements[tag]?.offset, tag: tag, reason)
    }
}
