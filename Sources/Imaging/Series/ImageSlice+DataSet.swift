// Extracts image slices and series attributes from a DICOM data set: single-frame images,
// enhanced multi-frame images (per-frame and shared functional groups), and Siemens mosaics.

extension ImageSlice {
    /// Returns the slices of one DICOM file.
    ///
    /// - throws: `DicomError` naming the tag when an image has no position, orientation or spacing.
    public static func slices(of file: DicomFile) throws -> [ImageSlice] {
        let dataSet = file.dataSet
        let rows = try dataSet.requiredInteger(.rows, "Rows")
        let columns = try dataSet.requiredInteger(.columns, "Columns")
        let frames = try dataSet.integer(.numberOfFrames) ?? 1
        let sopInstanceUID = dataSet.string(.sopInstanceUID) ?? file.path

        let shared = dataSet.sequence(.sharedFunctionalGroupsSequence).first
        let perFrame = dataSet.sequence(.perFrameFunctionalGroupsSequence)
        if shared != nil || !perFrame.isEmpty {
            guard perFrame.count == frames else {
                throw dataSet.error(.perFrameFunctionalGroupsSequence, "has \(perFrame.count) items for \(frames) frames")
            }
            return try (0..<frames).map { frame in
                // A functional group in the frame's item overrides the shared one (PS3.3 C.7.6.16).
                let groups = [perFrame[frame], shared].compactMap { $0 }
                func attributes(_ sequence: DicomTag) -> DataSet? {
                    groups.lazy.compactMap { $0.sequence(sequence).first }.first
                }
                let plane = try ImagePlaneAttributes(
                    position: attributes(.planePositionSequence), orientation: attributes(.planeOrientationSequence),
                    measures: attributes(.pixelMeasuresSequence), context: dataSet, frame: frame)
                let transform = attributes(.pixelValueTransformationSequence) ?? dataSet
                return ImageSlice(
                    source: SliceSource(path: file.path, frame: frame, mosaicTile: nil), sopInstanceUID: sopInstanceUID,
                    position: plane.position, rowDirection: plane.rowDirection, columnDirection: plane.columnDirection,
                    pixelSpacing: plane.pixelSpacing, rows: rows, columns: columns,
                    rescaleSlope: try transform.double(.rescaleSlope) ?? 1, rescaleIntercept: try transform.double(.rescaleIntercept) ?? 0,
                    sliceThickness: plane.sliceThickness)
            }
        }

        guard frames == 1 else {
            throw dataSet.error(.numberOfFrames, "\(frames) frames without functional groups give no position per frame")
        }
        let plane = try ImagePlaneAttributes(position: dataSet, orientation: dataSet, measures: dataSet, context: dataSet, frame: nil)
        let slice = ImageSlice(
            source: SliceSource(path: file.path, frame: 0, mosaicTile: nil), sopInstanceUID: sopInstanceUID,
            position: plane.position, rowDirection: plane.rowDirection, columnDirection: plane.columnDirection,
            pixelSpacing: plane.pixelSpacing, rows: rows, columns: columns,
            rescaleSlope: try dataSet.double(.rescaleSlope) ?? 1, rescaleIntercept: try dataSet.double(.rescaleIntercept) ?? 0,
            sliceThickness: plane.sliceThickness)
        if let tiles = try mosaicTileCount(dataSet) {
            return try mosaicSlices(of: slice, tiles: tiles, dataSet: dataSet)
        }
        return [slice]
    }

    // MARK: - Siemens mosaic

    /// Returns the number of images in a Siemens mosaic, or nil when the image is not one.
    /// The count comes from (0019,xx0A) or, when that is absent, from the CSA image header.
    private static func mosaicTileCount(_ dataSet: DataSet) throws -> Int? {
        guard dataSet.strings(.imageType).contains("MOSAIC") else { return nil }
        guard let element = dataSet.privateElement(.siemensNumberOfImagesInMosaic, creator: "SIEMENS MR HEADER") else {
            return SiemensCSAHeader(dataSet)?.numbers("NumberOfImagesInMosaic")?.first.map { Int($0) }
        }
        var item = DataSet(file: dataSet.file, isBigEndian: dataSet.isBigEndian)
        var typed = element
        typed.vr = element.vr == .UN ? .US : element.vr
        item.elements[element.tag] = typed
        guard let count = try item.integer(element.tag), count > 0 else { return nil }
        return count
    }

    /// Splits a mosaic into its tiles. Tiles fill the frame row by row in a square grid of
    /// ceil(sqrt(n)) tiles a side. The stored position is that of the whole frame's first pixel,
    /// so, as dcm2niix does, the first tile's is moved by half the difference between frame and
    /// tile size. Each further tile steps by Spacing Between Slices along the CSA header's
    /// SliceNormalVector. That vector is row x column for ascending acquisitions and its opposite
    /// for descending ones. Without a CSA header, row x column is assumed.
    private static func mosaicSlices(of frame: ImageSlice, tiles: Int, dataSet: DataSet) throws -> [ImageSlice] {
        let side = Int(Double(tiles).squareRoot().rounded(.up))
        guard frame.rows % side == 0, frame.columns % side == 0 else {
            throw dataSet.error(.siemensNumberOfImagesInMosaic, "\(tiles) mosaic tiles do not divide a \(frame.rows) x \(frame.columns) frame")
        }
        let tileRows = frame.rows / side
        let tileColumns = frame.columns / side
        guard let spacing = try dataSet.double(.spacingBetweenSlices) ?? frame.sliceThickness else {
            throw dataSet.error(.spacingBetweenSlices, "Spacing Between Slices is missing, so mosaic tiles cannot be placed")
        }
        let first = frame.position
            + frame.rowDirection * (frame.pixelSpacing.x * Double(frame.columns - tileColumns) / 2)
            + frame.columnDirection * (frame.pixelSpacing.y * Double(frame.rows - tileRows) / 2)
        var step = frame.normal
        if let vector = SiemensCSAHeader(dataSet)?.numbers("SliceNormalVector"), vector.count == 3,
           dot(Vector3(vector[0], vector[1], vector[2]), frame.normal) < 0 {
            step = -frame.normal
        }
        return (0..<tiles).map { tile in
            var slice = frame
            slice.source.mosaicTile = tile
            slice.rows = tileRows
            slice.columns = tileColumns
            slice.position = first + step * (spacing * Double(tile))
            return slice
        }
    }
}

/// Image Plane attributes (PS3.3 C.7.6.2) read from a data set or functional group items.
private struct ImagePlaneAttributes {
    var position: Vector3
    var rowDirection: Vector3
    var columnDirection: Vector3
    var pixelSpacing: SIMD2<Double>
    var sliceThickness: Double?

    init(position positionSet: DataSet?, orientation orientationSet: DataSet?, measures measuresSet: DataSet?, context: DataSet, frame: Int?) throws {
        let place = frame.map { " for frame \($0)" } ?? ""
        guard let positionSet, case let values = try positionSet.doubles(.imagePositionPatient), values.count == 3 else {
            throw context.error(.imagePositionPatient, "Image Position (Patient) is missing or does not have 3 values\(place)")
        }
        guard let orientationSet, case let cosines = try orientationSet.doubles(.imageOrientationPatient), cosines.count == 6 else {
            throw context.error(.imageOrientationPatient, "Image Orientation (Patient) is missing or does not have 6 values\(place)")
        }
        guard let measuresSet, case let spacing = try measuresSet.doubles(.pixelSpacing), spacing.count == 2, spacing[0] > 0, spacing[1] > 0 else {
            throw context.error(.pixelSpacing, "Pixel Spacing is missing or not 2 positive values\(place)")
        }
        let row = Vector3(cosines[0], cosines[1], cosines[2])
        let column = Vector3(cosines[3], cosines[4], cosines[5])
        guard length(row) > 0.5, length(column) > 0.5, abs(dot(row, column)) < 1e-3 * length(row) * length(column) + 1e-4 else {
            throw context.error(.imageOrientationPatient, "Image Orientation (Patient) \(cosines) is not two orthogonal directions\(place)")
        }
        position = Vector3(values[0], values[1], values[2])
        rowDirection = row / length(row)
        columnDirection = column / length(column)
        pixelSpacing = SIMD2(spacing[1], spacing[0])
        sliceThickness = try measuresSet.double(.sliceThickness)
    }
}

extension SeriesAttributes {
    /// Reads the series attributes of a data set. Acquisition Time falls back to the time of
    /// Acquisition DateTime, then to Series Time. Each comes with its date (Acquisition Date,
    /// the date of Acquisition DateTime, Series Date), which counts in days after the Study Date,
    /// so that phases acquired across midnight keep their order.
    public init(_ dataSet: DataSet) {
        seriesInstanceUID = dataSet.string(.seriesInstanceUID) ?? ""
        studyInstanceUID = dataSet.string(.studyInstanceUID)
        patientID = dataSet.string(.patientID)
        studyDate = dataSet.string(.studyDate)
        seriesNumber = try? dataSet.integer(.seriesNumber)
        seriesDescription = dataSet.string(.seriesDescription)
        modality = dataSet.string(.modality)
        // Enhanced objects carry Acquisition DateTime (YYYYMMDDHHMMSS.FFFFFF) instead of Acquisition Time.
        let clock: (time: String, date: String?)?
        if let time = dataSet.string(.acquisitionTime) {
            clock = (time, dataSet.string(.acquisitionDate) ?? dataSet.string(.seriesDate))
        } else if let dateTime = dataSet.string(.acquisitionDateTime) {
            clock = (String(dateTime.dropFirst(8)), String(dateTime.prefix(8)))
        } else if let time = dataSet.string(.seriesTime) {
            clock = (time, dataSet.string(.seriesDate))
        } else {
            clock = nil
        }
        acquisitionTime = clock.flatMap { clock in
            secondsAfterMidnight(clock.time).map { seconds in
                let days = studyDate.flatMap { study in clock.date.flatMap { daysBetween(study, $0) } } ?? 0
                return Double(days) * 86_400 + seconds
            }
        }
        contrastAgent = dataSet.string(.contrastBolusAgent)
        frameOfReferenceUID = dataSet.string(.frameOfReferenceUID)
    }
}

/// Returns the days from one DICOM DA value (YYYYMMDD) to another, or nil when either is not a
/// Gregorian calendar date.
func daysBetween(_ start: String, _ end: String) -> Int? {
    guard let from = dayNumber(start), let to = dayNumber(end) else { return nil }
    return to - from
}

/// Returns the days from 1 March of year 0 to a DA value (the civil-from-days algorithm run
/// backwards), or nil when it is not a calendar date.
private func dayNumber(_ text: String) -> Int? {
    guard text.utf8.count == 8, text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
          let year = Int(text.prefix(4)), let month = Int(text.dropFirst(4).prefix(2)), let day = Int(text.suffix(2)),
          (1...12).contains(month) else { return nil }
    let isLeapYear = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    let monthLengths = [31, isLeapYear ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    guard (1...monthLengths[month - 1]).contains(day) else { return nil }
    // Years start in March, so the leap day ends a year.
    let shiftedYear = month <= 2 ? year - 1 : year
    let shiftedMonth = month <= 2 ? month + 9 : month - 3
    let dayOfYear = (153 * shiftedMonth + 2) / 5 + day - 1
    return shiftedYear * 365 + shiftedYear / 4 - shiftedYear / 100 + shiftedYear / 400 + dayOfYear
}

/// Parses a DICOM TM value (HHMMSS.FFFFFF, or HH:MM:SS in old files) into seconds after midnight.
func secondsAfterMidnight(_ time: String) -> Double? {
    let digits = time.replacingOccurrences(of: ":", with: "")
    let whole = digits.prefix { $0 != "." }
    guard whole.count >= 2, whole.allSatisfy(\.isNumber) else { return nil }
    let hours = Double(whole.prefix(2)) ?? 0
    let minutes = whole.count >= 4 ? Double(whole.dropFirst(2).prefix(2)) ?? 0 : 0
    let seconds = Double(digits.dropFirst(min(4, whole.count))) ?? 0
    return hours * 3600 + minutes * 60 + seconds
}
