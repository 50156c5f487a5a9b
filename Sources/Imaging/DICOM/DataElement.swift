// One attribute of a data set: its tag, VR, where it was read and its undecoded value.

/// Pixel data stored as a Basic Offset Table and fragments (PS3.5 A.4).
public struct EncapsulatedPixelData: Sendable {
    /// Byte offsets of each frame's first fragment item, relative to the first fragment item; empty when absent.
    public var basicOffsetTable: [UInt32]
    /// The fragments' bytes, in order.
    public var fragments: [ArraySlice<UInt8>]
    /// Offset of each fragment's item tag relative to the first fragment item, as the offset table counts.
    public var fragmentItemOffsets: [Int]
}

/// The value of a data element, undecoded.
public enum DataElementValue: Sendable {
    /// Bytes of a value, as stored (in the data set's byte order).
    case bytes(ArraySlice<UInt8>)
    /// Items of a sequence (VR SQ).
    case sequence([DataSet])
    /// Encapsulated pixel data.
    case encapsulated(EncapsulatedPixelData)
}

/// One attribute read from a data set.
public struct DataElement: Sendable {
    /// The attribute tag.
    public var tag: DicomTag
    /// The VR, from the file for explicit VR, from `ImplicitVRDictionary` otherwise (UN when unknown).
    public var vr: ValueRepresentation
    /// Offset of the element's tag in the file (or in the inflated data set).
    public var offset: Int
    /// The value.
    public var value: DataElementValue

    /// The value bytes, empty for sequences and encapsulated pixel data.
    public var bytes: ArraySlice<UInt8> {
        if case .bytes(let bytes) = value { return bytes }
        return []
    }
}
