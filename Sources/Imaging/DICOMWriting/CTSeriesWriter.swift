// Writes a Float volume as a CT (or MR) Image Storage series, one Explicit VR Little Endian file per slice.
import Foundation

/// The modality of a written series, which also fixes its storage SOP class.
public enum WrittenModality: String, Sendable {
    /// CT Image Storage, with a Rescale Type of HU.
    case ct = "CT"
    /// MR Image Storage, with no rescale: the stored values are the signal.
    case mr = "MR"

    var sopClassUID: String {
        switch self {
        case .ct: "1.2.840.10008.5.1.4.1.1.2"
        case .mr: "1.2.840.10008.5.1.4.1.1.4"
        }
    }
}

/// Patient, study and series attributes of a written CT series.
///
/// Identifying values are written as given; for synthetic data use made-up ones.
public struct CTSeriesAttributes: Sendable {
    public var patientName: String
    public var patientID: String
    public var studyInstanceUID: String
    public var seriesInstanceUID: String
    public var frameOfReferenceUID: String
    /// Study Date (DA, YYYYMMDD).
    public var studyDate: String
    /// Study Time (TM, HHMMSS).
    public var studyTime: String
    public var seriesNumber: Int
    public var seriesDescription: String
    /// Acquisition Time (TM, HHMMSS), used to order the phases of a study.
    public var acquisitionTime: String?
    /// Contrast/Bolus Agent; nil writes no Contrast/Bolus module (a non-contrast series).
    public var contrastAgent: String?
    public var modality: WrittenModality

    /// Creates attributes; UIDs default to new random ones under the 2.25 root.
    public init(patientName: String, patientID: String, studyInstanceUID: String? = nil, seriesInstanceUID: String? = nil,
                frameOfReferenceUID: String? = nil, studyDate: String = "20260101", studyTime: String = "120000",
                seriesNumber: Int = 1, seriesDescription: String = "", acquisitionTime: String? = nil, contrastAgent: String? = nil,
                modality: WrittenModality = .ct) {
        self.patientName = patientName
        self.patientID = patientID
        self.studyInstanceUID = studyInstanceUID ?? DicomUID.generate()
        self.seriesInstanceUID = seriesInstanceUID ?? DicomUID.generate()
        self.frameOfReferenceUID = frameOfReferenceUID ?? DicomUID.generate()
        self.studyDate = studyDate
        self.studyTime = studyTime
        self.seriesNumber = seriesNumber
        self.seriesDescription = seriesDescription
        self.acquisitionTime = acquisitionTime
        self.contrastAgent = contrastAgent
        self.modality = modality
    }
}

/// Writes CT Image Storage series (SOP Class 1.2.840.10008.5.1.4.1.1.2), or MR Image Storage
/// series (1.2.840.10008.5.1.4.1.1.4) when the attributes' modality is MR.
public enum CTSeriesWriter {
    static let implementationClassUID = "2.25.153387046862416960452617311440394587301"

    /// Writes one file per k slice of `volume`, named CT00001.dcm (MR00001.dcm for MR) onwards,
    /// into `folder`.
    ///
    /// Voxels are stored as signed 16-bit values: `round((HU - intercept) / slope)`, clamped to
    /// the Int16 range. With the default slope 1 and intercept 0, integer HU are stored exactly.
    /// MR series are written without rescale, so their values are rounded to integers.
    ///
    /// - throws: `DicomError` when the direction matrix is not orthonormal (DICOM slices cannot
    ///   be sheared), a slice has more than 65535 rows or columns, an MR series is given a
    ///   rescale, or a file cannot be written.
    /// - returns: the paths written, in k order.
    /// - parameter instanceUID: SOP Instance UID of slice k; random by default, fixed where
    ///   the same input must give the same bytes.
    @discardableResult
    public static func write(_ volume: Volume<Float>, attributes: CTSeriesAttributes, to folder: String,
                             rescaleSlope: Double = 1, rescaleIntercept: Double = 0,
                             instanceUID: ((Int) -> String)? = nil) throws -> [String] {
        let geometry = volume.geometry
        let row = geometry.direction.columns[0]
        let column = geometry.direction.columns[1]
        let normal = geometry.direction.columns[2]
        guard abs(dot(row, column)) < 1e-6, abs(abs(dot(cross(row, column), normal)) - 1) < 1e-6 else {
            throw DicomError(file: folder, tag: .imageOrientationPatient, "the volume's direction matrix \(geometry.direction) is not orthonormal, so it cannot be written as DICOM slices")
        }
        guard geometry.size.x <= Int(UInt16.max), geometry.size.y <= Int(UInt16.max) else {
            throw DicomError(file: folder, tag: .rows, "a \(geometry.size.x) x \(geometry.size.y) slice exceeds the 65535 rows and columns DICOM allows")
        }
        let modality = attributes.modality
        guard modality == .ct || (rescaleSlope == 1 && rescaleIntercept == 0) else {
            throw DicomError(file: folder, tag: .rescaleSlope, "MR Image Storage has no rescale, so write MR series with slope 1 and intercept 0")
        }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)

        let sliceLength = geometry.size.x * geometry.size.y
        var paths: [String] = []
        for k in 0..<geometry.size.z {
            let sopInstanceUID = instanceUID?(k) ?? DicomUID.generate()
            var pixels = [Int16](repeating: 0, count: sliceLength)
            for index in 0..<sliceLength {
                let stored = ((Double(volume.voxels[k * sliceLength + index]) - rescaleIntercept) / rescaleSlope).rounded()
                pixels[index] = Int16(min(max(stored, Double(Int16.min)), Double(Int16.max)))
            }
            let position = geometry.world(atIndex: Vector3(0, 0, Double(k)))

            var dataSet = DataSetEncoder()
            dataSet.text(.specificCharacterSet, .CS, "ISO_IR 192")
            dataSet.text(.imageType, .CS, "ORIGINAL\\PRIMARY\\AXIAL")
            dataSet.text(.sopClassUID, .UI, modality.sopClassUID)
            dataSet.text(.sopInstanceUID, .UI, sopInstanceUID)
            dataSet.text(.studyDate, .DA, attributes.studyDate)
            dataSet.text(.studyTime, .TM, attributes.studyTime)
            if let time = attributes.acquisitionTime { dataSet.text(.acquisitionTime, .TM, time) }
            dataSet.text(.accessionNumber, .SH, "")
            dataSet.text(.modality, .CS, modality.rawValue)
            dataSet.text(.manufacturer, .LO, "stdnet")
            dataSet.text(.referringPhysicianName, .PN, "")
            dataSet.text(.seriesDescription, .LO, attributes.seriesDescription)
            dataSet.text(.patientName, .PN, attributes.patientName)
            dataSet.text(.patientID, .LO, attributes.patientID)
            dataSet.text(.patientBirthDate, .DA, "")
            dataSet.text(.patientSex, .CS, "")
            if let agent = attributes.contrastAgent { dataSet.text(.contrastBolusAgent, .LO, agent) }
            if modality == .mr {
                // MR Image module, type 1 and 2: a 3D gradient-echo acquisition, timings unknown.
                dataSet.text(.scanningSequence, .CS, "GR")
                dataSet.text(.sequenceVariant, .CS, "NONE")
                dataSet.text(.scanOptions, .CS, "")
                dataSet.text(.mrAcquisitionType, .CS, "3D")
            }
            dataSet.text(.sliceThickness, .DS, decimalString(geometry.spacing.z))
            if modality == .ct {
                dataSet.text(.kvp, .DS, "")
            } else {
                dataSet.text(.repetitionTime, .DS, "")
                dataSet.text(.echoTime, .DS, "")
                dataSet.text(.echoTrainLength, .IS, "")
            }
            dataSet.text(.patientPosition, .CS, "HFS")
            dataSet.text(.studyInstanceUID, .UI, attributes.studyInstanceUID)
            dataSet.text(.seriesInstanceUID, .UI, attributes.seriesInstanceUID)
            dataSet.text(.studyID, .SH, "1")
            dataSet.text(.seriesNumber, .IS, String(attributes.seriesNumber))
            dataSet.text(.acquisitionNumber, .IS, "1")
            dataSet.text(.instanceNumber, .IS, String(k + 1))
            dataSet.text(.imagePositionPatient, .DS, [position.x, position.y, position.z].map(decimalString).joined(separator: "\\"))
            dataSet.text(.imageOrientationPatient, .DS, [row.x, row.y, row.z, column.x, column.y, column.z].map(decimalString).joined(separator: "\\"))
            dataSet.text(.frameOfReferenceUID, .UI, attributes.frameOfReferenceUID)
            // Type 2C in General Series: required, empty, for a body part without left and right.
            dataSet.text(.laterality, .CS, "")
            dataSet.text(.positionReferenceIndicator, .LO, "")
            dataSet.unsignedShort(.samplesPerPixel, 1)
            dataSet.text(.photometricInterpretation, .CS, "MONOCHROME2")
            dataSet.unsignedShort(.rows, UInt16(geometry.size.y))
            dataSet.unsignedShort(.columns, UInt16(geometry.size.x))
            dataSet.text(.pixelSpacing, .DS, decimalString(geometry.spacing.y) + "\\" + decimalString(geometry.spacing.x))
            dataSet.unsignedShort(.bitsAllocated, 16)
            dataSet.unsignedShort(.bitsStored, 16)
            dataSet.unsignedShort(.highBit, 15)
            dataSet.unsignedShort(.pixelRepresentation, 1)
            if modality == .ct {
                dataSet.text(.rescaleIntercept, .DS, decimalString(rescaleIntercept))
                dataSet.text(.rescaleSlope, .DS, decimalString(rescaleSlope))
                dataSet.text(.rescaleType, .LO, "HU")
            }
            dataSet.element(.pixelData, .OW, pixels.withUnsafeBytes { Array($0) })

            let path = (folder as NSString).appendingPathComponent(String(format: "\(modality.rawValue)%05d.dcm", k + 1))
            let bytes = fileMeta(sopClassUID: modality.sopClassUID, sopInstanceUID: sopInstanceUID) + dataSet.bytes
            guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
                throw DicomError(file: path, "cannot write the file")
            }
            paths.append(path)
        }
        return paths
    }

    /// Encodes the 128-byte preamble, "DICM" and the file meta information group (PS3.10 7.1).
    private static func fileMeta(sopClassUID: String, sopInstanceUID: String) -> [UInt8] {
        var meta = DataSetEncoder()
        meta.element(.fileMetaInformationVersion, .OB, [0, 1])
        meta.text(.mediaStorageSOPClassUID, .UI, sopClassUID)
        meta.text(.mediaStorageSOPInstanceUID, .UI, sopInstanceUID)
        meta.text(.transferSyntaxUID, .UI, TransferSyntax.explicitVRLittleEndian.uid)
        meta.text(.implementationClassUID, .UI, implementationClassUID)
        meta.text(.implementationVersionName, .SH, "STDNET_IMAGING")
        var group = DataSetEncoder()
        group.unsignedLong(.fileMetaInformationGroupLength, UInt32(meta.bytes.count))
        return [UInt8](repeating: 0, count: 128) + Array("DICM".utf8) + group.bytes + meta.bytes
    }
}
