// One 2D image of a series with its position in patient space and where its pixels are stored.

/// The location of a slice's pixels: a file, a frame in it, and for Siemens mosaics a tile of that frame.
public struct SliceSource: Hashable, Sendable {
    /// The DICOM file.
    public var path: String
    /// The frame index in the file, 0 for single-frame images.
    public var frame: Int
    /// The tile index in a mosaic frame, or nil when the frame is the slice.
    public var mosaicTile: Int?
}

/// A 2D image plane: one single-frame file, one frame of an enhanced multi-frame object, or one
/// tile of a Siemens mosaic.
public struct ImageSlice: Sendable {
    /// The location of the pixels.
    public var source: SliceSource
    /// SOP Instance UID of the file, which distinguishes a copied file from a second image at one position.
    public var sopInstanceUID: String
    /// Image Position (Patient): the centre of the first pixel, LPS millimetres.
    public var position: Vector3
    /// Direction of increasing column index (along a row), LPS unit vector.
    public var rowDirection: Vector3
    /// Direction of increasing row index (down a column), LPS unit vector.
    public var columnDirection: Vector3
    /// Distance between columns (dx) and between rows (dy), millimetres. DICOM Pixel Spacing lists dy first.
    public var pixelSpacing: SIMD2<Double>
    public var rows: Int
    public var columns: Int
    /// Rescale Slope and Intercept: physical value = stored value * slope + intercept.
    public var rescaleSlope: Double
    public var rescaleIntercept: Double
    /// Slice Thickness, which is not the spacing between slices.
    public var sliceThickness: Double?

    /// The slice normal, row direction x column direction.
    public var normal: Vector3 { cross(rowDirection, columnDirection) }
}

/// Attributes shared by the slices of one series, read from its first file.
public struct SeriesAttributes: Sendable, Codable {
    public var seriesInstanceUID: String
    public var studyInstanceUID: String?
    /// Patient ID, which links a patient's studies; identifying, so never logged.
    public var patientID: String?
    /// Study Date (DA, YYYYMMDD).
    public var studyDate: String?
    public var seriesNumber: Int?
    public var seriesDescription: String?
    public var modality: String?
    /// Acquisition Time (or Series Time when absent) as seconds after midnight of the Study
    /// Date: a series acquired the day after starts at 86,400.
    public var acquisitionTime: Double?
    /// Contrast/Bolus Agent, nil when absent or empty.
    public var contrastAgent: String?
    public var frameOfReferenceUID: String?
}
