// Reads a DICOM Part 10 file (PS3.10 7.1): preamble, file meta information, then the data set
// in its transfer syntax. Also reads bare data sets written without preamble or meta information.
import Foundation

/// A DICOM file read into memory.
public struct DicomFile: Sendable {
    /// The path the file was read from.
    public var path: String
    /// File meta information (group 0002); empty when the file has none.
    public var fileMeta: DataSet
    /// The data set.
    public var dataSet: DataSet
    /// The transfer syntax of the data set.
    public var transferSyntax: TransferSyntax
    /// Whether parsing stopped at Pixel Data (or a later tag) rather than at the end of the bytes.
    var stoppedBeforePixelData = false
    /// The number of bytes parsed: the file's length, or the prefix's for a header scan.
    var byteCount = 0

    /// Reads and parses a file.
    ///
    /// - parameters:
    ///   - path: the file to read.
    ///   - stopBeforePixelData: stop at Pixel Data (7FE0,0010), for a fast scan of the header.
    /// - throws: `DicomError` naming the file, the offset and the tag of the first problem.
    public init(contentsOf path: String, stopBeforePixelData: Bool = false) throws {
        // A header scan first tries the file's first 16 KiB, which hold the header of most images.
        if stopBeforePixelData, let prefix = readFileBytes(path, maximumLength: 16384), prefix.count == 16384,
           let file = try? DicomFile(bytes: prefix, path: path, stopBeforePixelData: true), file.stoppedBeforePixelData {
            self = file
            return
        }
        guard let bytes = readFileBytes(path) else {
            throw DicomError(file: path, "cannot read the file: \(fileReadFailure())")
        }
        try self.init(bytes: bytes, path: path, stopBeforePixelData: stopBeforePixelData)
    }

    /// Parses a file already in memory; `path` is used in error messages.
    public init(bytes: [UInt8], path: String, stopBeforePixelData: Bool = false) throws {
        self.path = path
        byteCount = bytes.count
        let stopTag: DicomTag? = stopBeforePixelData ? .pixelData : nil

        if bytes.count >= 132 && bytes[128..<132].elementsEqual("DICM".utf8) {
            let metaParser = DataSetParser(bytes: bytes, file: path, isExplicitVR: true, isBigEndian: false)
            let metaEnd = try Self.fileMetaEnd(bytes, parser: metaParser)
            (fileMeta, _, _) = try metaParser.parse(from: 132, to: metaEnd)
            guard let uid = fileMeta.string(.transferSyntaxUID) else {
                throw DicomError(file: path, tag: .transferSyntaxUID, "Transfer Syntax UID is missing from the file meta information")
            }
            transferSyntax = TransferSyntax.forUID(uid)
            (dataSet, stoppedBeforePixelData) = try Self.parseDataSet(bytes, from: metaEnd, syntax: transferSyntax, path: path, stopTag: stopTag)
            return
        }

        // No preamble: a bare data set, optionally starting with file meta information.
        fileMeta = DataSet(file: path)
        guard bytes.count >= 8 else {
            throw DicomError(file: path, offset: 0, "the file is \(bytes.count) bytes long, too short for DICOM", isNotDicom: true)
        }
        let group = UInt16(bytes[0]) | UInt16(bytes[1]) << 8
        guard group >= 0x0002 && group <= 0x0028 else {
            throw DicomError(file: path, offset: 0, "no DICM prefix at offset 128 and no data element at offset 0; this is not a DICOM file",
                             isNotDicom: true)
        }
        let isExplicit = ValueRepresentation(bytes: bytes[4], bytes[5]) != nil
        transferSyntax = isExplicit ? .explicitVRLittleEndian : .implicitVRLittleEndian
        let parser = DataSetParser(bytes: bytes, file: path, isExplicitVR: isExplicit, isBigEndian: false)
        var start = 0
        if group == 0x0002 {
            let (meta, end, _) = try parser.parse(from: 0, to: bytes.count, stopBefore: DicomTag(0x0003, 0x0000))
            fileMeta = meta
            start = end
            if let uid = meta.string(.transferSyntaxUID) { transferSyntax = TransferSyntax.forUID(uid) }
        }
        (dataSet, stoppedBeforePixelData) = try Self.parseDataSet(bytes, from: start, syntax: transferSyntax, path: path, stopTag: stopTag)
    }

    /// Returns where the file meta information ends, from its group length or, when that is
    /// absent, from the first element outside group 0002.
    private static func fileMetaEnd(_ bytes: [UInt8], parser: DataSetParser) throws -> Int {
        let (meta, end, _) = try parser.parse(from: 132, to: bytes.count, stopBefore: DicomTag(0x0003, 0x0000))
        if let element = meta[.fileMetaInformationGroupLength], let length = try meta.integer(.fileMetaInformationGroupLength) {
            let declaredEnd = element.offset + 12 + length
            if declaredEnd == end { return declaredEnd }
        }
        return end
    }

    /// Parses the data set after the file meta information; also returns whether it stopped at `stopTag`.
    private static func parseDataSet(_ bytes: [UInt8], from start: Int, syntax: TransferSyntax, path: String, stopTag: DicomTag?) throws -> (DataSet, Bool) {
        if syntax.isDeflated {
            let inflated: [UInt8]
            do {
                inflated = try Zlib.inflate(bytes[start...], format: .raw)
            } catch let error as ZlibError {
                throw DicomError(file: path, offset: start, "cannot inflate the deflated data set: \(error)")
            }
            let parser = DataSetParser(bytes: inflated, file: path + " (inflated data set)", isExplicitVR: true, isBigEndian: false)
            let (dataSet, end, _) = try parser.parse(from: 0, to: inflated.count, stopBefore: stopTag)
            return (dataSet, end < inflated.count)
        }
        let parser = DataSetParser(bytes: bytes, file: path, isExplicitVR: syntax.isExplicitVR, isBigEndian: syntax.isBigEndian)
        let (dataSet, end, _) = try parser.parse(from: start, to: bytes.count, stopBefore: stopTag)
        return (dataSet, end < bytes.count)
    }
}
