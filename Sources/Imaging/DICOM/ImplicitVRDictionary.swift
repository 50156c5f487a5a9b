// VRs of the attributes this module interprets, for data sets encoded with implicit VR.

/// VRs looked up by tag when a data set does not carry them (Implicit VR Little Endian).
///
/// Only attributes whose value this module decodes need an entry: binary numbers, sequences and
/// pixel data. Every other attribute is kept as `UN` bytes, and its text is still readable
/// because text values are stored as they are in any VR.
enum ImplicitVRDictionary {
    static func vr(for tag: DicomTag) -> ValueRepresentation {
        if tag.element == 0x0000 { return .UL }
        if let vr = entries[tag] { return vr }
        return .UN
    }

    private static let entries: [DicomTag: ValueRepresentation] = [
        .fileMetaInformationVersion: .OB,
        .samplesPerPixel: .US, .planarConfiguration: .US, .rows: .US, .columns: .US,
        .bitsAllocated: .US, .bitsStored: .US, .highBit: .US, .pixelRepresentation: .US,
        .pixelMeasuresSequence: .SQ, .pixelValueTransformationSequence: .SQ,
        .planePositionSequence: .SQ, .planeOrientationSequence: .SQ,
        .sharedFunctionalGroupsSequence: .SQ, .perFrameFunctionalGroupsSequence: .SQ,
        DicomTag(0x0008, 0x1110): .SQ, DicomTag(0x0008, 0x1111): .SQ, DicomTag(0x0008, 0x1115): .SQ,
        DicomTag(0x0008, 0x1140): .SQ, DicomTag(0x0008, 0x2112): .SQ, DicomTag(0x0008, 0x9215): .SQ,
        DicomTag(0x0018, 0x0012): .SQ, DicomTag(0x0018, 0x9118): .SQ, DicomTag(0x0020, 0x9111): .SQ,
        DicomTag(0x0020, 0x9071): .SQ, DicomTag(0x0028, 0x9132): .SQ, DicomTag(0x0040, 0x0275): .SQ,
        DicomTag(0x0040, 0x0260): .SQ, DicomTag(0x0062, 0x0002): .SQ, DicomTag(0x0008, 0x9124): .SQ,
        .extendedOffsetTable: .OV, .pixelData: .OW,
    ]
}
