// DICOM attribute tags and the ones this module reads or writes by name.

/// A DICOM attribute tag, (group, element).
public struct DicomTag: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The group number, e.g. 0x0028 for the Image Pixel module.
    public let group: UInt16
    /// The element number within the group.
    public let element: UInt16

    /// Creates a tag from its group and element numbers.
    public init(_ group: UInt16, _ element: UInt16) {
        self.group = group
        self.element = element
    }

    /// The tag as one number, group in the high half, which is also the order in a data set.
    public var combined: UInt32 { UInt32(group) << 16 | UInt32(element) }

    /// Whether the group number is odd, which marks a private attribute.
    public var isPrivate: Bool { group & 1 == 1 }

    public static func < (a: DicomTag, b: DicomTag) -> Bool { a.combined < b.combined }

    /// The tag written as `(gggg,eeee)` in hexadecimal, as the standard writes it.
    public var description: String {
        "(" + hex4(group) + "," + hex4(element) + ")"
    }
}

func hex4(_ value: UInt16) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return String(repeating: "0", count: 4 - digits.count) + digits
}

extension DicomTag {
    // Item and delimitation tags that frame sequence items and encapsulated fragments (PS3.5 7.5).
    public static let item = DicomTag(0xFFFE, 0xE000)
    public static let itemDelimitation = DicomTag(0xFFFE, 0xE00D)
    public static let sequenceDelimitation = DicomTag(0xFFFE, 0xE0DD)

    // File meta information (group 0002).
    public static let fileMetaInformationGroupLength = DicomTag(0x0002, 0x0000)
    public static let fileMetaInformationVersion = DicomTag(0x0002, 0x0001)
    public static let mediaStorageSOPClassUID = DicomTag(0x0002, 0x0002)
    public static let mediaStorageSOPInstanceUID = DicomTag(0x0002, 0x0003)
    public static let transferSyntaxUID = DicomTag(0x0002, 0x0010)
    public static let implementationClassUID = DicomTag(0x0002, 0x0012)
    public static let implementationVersionName = DicomTag(0x0002, 0x0013)

    public static let specificCharacterSet = DicomTag(0x0008, 0x0005)
    public static let imageType = DicomTag(0x0008, 0x0008)
    public static let sopClassUID = DicomTag(0x0008, 0x0016)
    public static let sopInstanceUID = DicomTag(0x0008, 0x0018)
    public static let studyDate = DicomTag(0x0008, 0x0020)
    public static let seriesDate = DicomTag(0x0008, 0x0021)
    public static let acquisitionDate = DicomTag(0x0008, 0x0022)
    public static let acquisitionDateTime = DicomTag(0x0008, 0x002A)
    public static let studyTime = DicomTag(0x0008, 0x0030)
    public static let seriesTime = DicomTag(0x0008, 0x0031)
    public static let acquisitionTime = DicomTag(0x0008, 0x0032)
    public static let accessionNumber = DicomTag(0x0008, 0x0050)
    public static let modality = DicomTag(0x0008, 0x0060)
    public static let manufacturer = DicomTag(0x0008, 0x0070)
    public static let referringPhysicianName = DicomTag(0x0008, 0x0090)
    public static let seriesDescription = DicomTag(0x0008, 0x103E)

    public static let patientName = DicomTag(0x0010, 0x0010)
    public static let patientID = DicomTag(0x0010, 0x0020)
    public static let patientBirthDate = DicomTag(0x0010, 0x0030)
    public static let patientSex = DicomTag(0x0010, 0x0040)

    public static let contrastBolusAgent = DicomTag(0x0018, 0x0010)
    public static let scanningSequence = DicomTag(0x0018, 0x0020)
    public static let sequenceVariant = DicomTag(0x0018, 0x0021)
    public static let scanOptions = DicomTag(0x0018, 0x0022)
    public static let mrAcquisitionType = DicomTag(0x0018, 0x0023)
    public static let sliceThickness = DicomTag(0x0018, 0x0050)
    public static let kvp = DicomTag(0x0018, 0x0060)
    public static let repetitionTime = DicomTag(0x0018, 0x0080)
    public static let echoTime = DicomTag(0x0018, 0x0081)
    public static let spacingBetweenSlices = DicomTag(0x0018, 0x0088)
    public static let echoTrainLength = DicomTag(0x0018, 0x0091)
    public static let patientPosition = DicomTag(0x0018, 0x5100)

    /// Siemens private NumberOfImagesInMosaic, in the block of creator "SIEMENS MR HEADER".
    static let siemensNumberOfImagesInMosaic = DicomTag(0x0019, 0x100A)

    public static let studyInstanceUID = DicomTag(0x0020, 0x000D)
    public static let seriesInstanceUID = DicomTag(0x0020, 0x000E)
    public static let studyID = DicomTag(0x0020, 0x0010)
    public static let seriesNumber = DicomTag(0x0020, 0x0011)
    public static let acquisitionNumber = DicomTag(0x0020, 0x0012)
    public static let instanceNumber = DicomTag(0x0020, 0x0013)
    public static let imagePositionPatient = DicomTag(0x0020, 0x0032)
    public static let imageOrientationPatient = DicomTag(0x0020, 0x0037)
    public static let frameOfReferenceUID = DicomTag(0x0020, 0x0052)
    public static let laterality = DicomTag(0x0020, 0x0060)
    public static let positionReferenceIndicator = DicomTag(0x0020, 0x1040)
    public static let planePositionSequence = DicomTag(0x0020, 0x9113)
    public static let planeOrientationSequence = DicomTag(0x0020, 0x9116)

    public static let samplesPerPixel = DicomTag(0x0028, 0x0002)
    public static let photometricInterpretation = DicomTag(0x0028, 0x0004)
    public static let numberOfFrames = DicomTag(0x0028, 0x0008)
    public static let rows = DicomTag(0x0028, 0x0010)
    public static let columns = DicomTag(0x0028, 0x0011)
    public static let planarConfiguration = DicomTag(0x0028, 0x0006)
    public static let pixelSpacing = DicomTag(0x0028, 0x0030)
    public static let bitsAllocated = DicomTag(0x0028, 0x0100)
    public static let bitsStored = DicomTag(0x0028, 0x0101)
    public static let highBit = DicomTag(0x0028, 0x0102)
    public static let pixelRepresentation = DicomTag(0x0028, 0x0103)
    public static let rescaleIntercept = DicomTag(0x0028, 0x1052)
    public static let rescaleSlope = DicomTag(0x0028, 0x1053)
    public static let rescaleType = DicomTag(0x0028, 0x1054)
    public static let pixelMeasuresSequence = DicomTag(0x0028, 0x9110)
    public static let pixelValueTransformationSequence = DicomTag(0x0028, 0x9145)

    public static let sharedFunctionalGroupsSequence = DicomTag(0x5200, 0x9229)
    public static let perFrameFunctionalGroupsSequence = DicomTag(0x5200, 0x9230)

    public static let extendedOffsetTable = DicomTag(0x7FE0, 0x0001)
    public static let pixelData = DicomTag(0x7FE0, 0x0010)
}
