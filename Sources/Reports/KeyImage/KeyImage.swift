// Key images: one lesion's axial slice in every contrast phase, side by side, with its contour.
import Imaging
import Lesions

/// A colour with 8-bit red, green and blue components.
public struct RGBColour: Sendable, Equatable {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8

    public init(red: UInt8, green: UInt8, blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }
}

/// Layout and colours of a key image.
public struct KeyImageStyle: Sendable, Equatable {
    /// The smallest side of the square crop around the lesion, in millimetres.
    public var minimumCropMillimetres = 60.0
    /// Room around the lesion's in-plane extent on each side of the crop, in millimetres.
    public var marginMillimetres = 10.0
    /// The longer side of each panel, in pixels.
    public var panelPixels = 192
    /// The colour of the lesion contour.
    public var contourColour = RGBColour(red: 255, green: 255, blue: 0)

    public init() {}
}

/// A key image with the slice and crop it shows.
public struct KeyImage: Sendable, Equatable {
    /// The phases in panel order, left to right.
    public static let phaseOrder: [Phase] = [.nonContrast, .arterial, .portalVenous, .delayed]

    /// Four panels side by side in `phaseOrder`, each `panelWidth` x `panelHeight` pixels.
    public let image: PNGImage
    /// The slice index k shown: the one with the most lesion voxels.
    public let slice: Int
    /// The voxel columns (index i) shown, left to right.
    public let columns: Range<Int>
    /// The voxel rows (index j) shown, top to bottom.
    public let rows: Range<Int>
    public let panelWidth: Int
    public let panelHeight: Int
}

/// Renders the key image of one lesion: its axial slice in each phase, NC, AP, PV, DP from left
/// to right, with the lesion contour drawn in `style.contourColour`.
///
/// The slice is the grid slice k with the most lesion voxels, shown with i to the right and j
/// down, which on an axial LPS grid is the radiological view. The crop is a square of at least
/// `style.minimumCropMillimetres` around the lesion, clipped to the volume. CT panels use the
/// window level 40 / width 400 HU. MR panels use the 1st to 99th percentile of the phase's
/// voxels in the crop. Panels are scaled with nearest-neighbour sampling to square pixels, with
/// the longer side `style.panelPixels`. Contour pixels are lesion pixels of the scaled image
/// next to a non-lesion pixel. A missing phase is an all-black panel without contour.
///
/// - parameters:
///   - labels: 0 background, 1 liver, 2 lesion, on the grid of `phases`.
///   - phases: the study's images on that grid, in HU for CT. Missing phases are left out.
///   - lesion: one component of `labels`, as ``connectedLesions(in:label:minimumVolumeMillilitres:)`` finds it.
///   - isCT: the fixed CT window for CT, percentiles for MR.
/// - throws: `ReportError` when the lesion is empty, lies outside the grid or on voxels not
///   labelled lesion, when a phase is on another grid, or when the spacing is not positive.
public func keyImage(labels: Volume<UInt8>, phases: [Phase: Volume<Float>], lesion: LesionComponent,
                     isCT: Bool, style: KeyImageStyle = KeyImageStyle()) throws -> KeyImage {
    try validate(labels: labels, phases: phases, lesion: lesion, style: style)

    let geometry = labels.geometry
    let crop = SliceCrop(lesion: lesion, geometry: geometry,
                         minimumSideMillimetres: style.minimumCropMillimetres, marginMillimetres: style.marginMillimetres)
    let sliceStart = geometry.size.x * geometry.size.y * crop.slice
    let inSlice = Set(lesion.voxels.filter { $0 >= sliceStart && $0 < sliceStart + geometry.size.x * geometry.size.y })
    let sampling = PanelSampling(crop: crop, spacing: geometry.spacing, longerSidePixels: style.panelPixels) { i, j in
        inSlice.contains(sliceStart + i + geometry.size.x * j)
    }

    let imageWidth = sampling.width * KeyImage.phaseOrder.count
    var samples = [UInt8](repeating: 0, count: imageWidth * sampling.height * 3)
    for (panel, phase) in KeyImage.phaseOrder.enumerated() {
        guard let volume = phases[phase] else { continue }
        let window = isCT ? GreyWindow(level: 40, width: 400) : mrWindow(volume, crop: crop)
        for y in 0..<sampling.height {
            for x in 0..<sampling.width {
                let offset = 3 * (panel * sampling.width + x + imageWidth * y)
                if sampling.isContour[x + sampling.width * y] {
                    samples[offset] = style.contourColour.red
                    samples[offset + 1] = style.contourColour.green
                    samples[offset + 2] = style.contourColour.blue
                } else {
                    let grey = window?.grey(volume[sampling.columnOfPixel[x], sampling.rowOfPixel[y], crop.slice]) ?? 0
                    samples[offset] = grey
                    samples[offset + 1] = grey
                    samples[offset + 2] = grey
                }
            }
        }
    }

    let image = try PNGImage(width: imageWidth, height: sampling.height, colourType: .rgb, samples: samples)
    return KeyImage(image: image, slice: crop.slice, columns: crop.columns, rows: crop.rows,
                    panelWidth: sampling.width, panelHeight: sampling.height)
}

/// Returns the MR window of `volume` over the crop, or nil when no voxel there is finite.
private func mrWindow(_ volume: Volume<Float>, crop: SliceCrop) -> GreyWindow? {
    var values: [Float] = []
    values.reserveCapacity(crop.columns.count * crop.rows.count)
    for j in crop.rows {
        for i in crop.columns { values.append(volume[i, j, crop.slice]) }
    }
    return GreyWindow(percentilesOf: values)
}

/// Checks the inputs of ``keyImage(labels:phases:lesion:isCT:style:)``.
private func validate(labels: Volume<UInt8>, phases: [Phase: Volume<Float>], lesion: LesionComponent,
                      style: KeyImageStyle) throws {
    guard labels.spacing.x > 0, labels.spacing.y > 0 else {
        throw ReportError("invalid spacing \(labels.spacing) of the label map. Key images need positive in-plane spacing")
    }
    guard style.panelPixels > 0, style.minimumCropMillimetres >= 0, style.marginMillimetres >= 0 else {
        throw ReportError("invalid key image style: panelPixels \(style.panelPixels) must be positive, minimumCropMillimetres \(style.minimumCropMillimetres) and marginMillimetres \(style.marginMillimetres) must not be negative")
    }
    guard let lowest = lesion.voxels.min(), let highest = lesion.voxels.max() else {
        throw ReportError("the lesion has no voxels. Pass a component from connectedLesions(in:)")
    }
    guard lowest >= 0, highest < labels.voxels.count else {
        throw ReportError("lesion voxel index \(lowest < 0 ? lowest : highest) is outside the label map of \(labels.voxels.count) voxels, so the lesion belongs to another grid")
    }
    if let stray = lesion.voxels.first(where: { labels.voxels[$0] != SegmentationLabel.lesion }) {
        throw ReportError("lesion voxel \(stray) has label \(labels.voxels[stray]), not \(SegmentationLabel.lesion), so the lesion belongs to another label map")
    }
    for phase in KeyImage.phaseOrder {
        guard let volume = phases[phase] else { continue }
        guard volume.geometry.isSameGrid(as: labels.geometry) else {
            throw ReportError("phase \(phase.rawValue) is on grid \(volume.size) spacing \(volume.spacing), not the label map's grid \(labels.size) spacing \(labels.spacing). Resample it onto the label map first")
        }
    }
}
