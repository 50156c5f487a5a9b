// The input of the history plot: lesion sizes per track over a patient's studies.
import Lesions

/// The longest axial diameters of one lesion track, one per study in which it was seen.
public struct TrackHistory: Sendable, Equatable {
    /// The track number, as lesion tracking assigns it.
    public let track: Int
    /// Study dates and longest axial diameters in millimetres, in any order.
    public let sizes: [SizeMeasurement]

    public init(track: Int, sizes: [SizeMeasurement]) {
        self.track = track
        self.sizes = sizes
    }
}
