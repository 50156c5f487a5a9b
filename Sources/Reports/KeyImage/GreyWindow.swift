// Display windows that map image values (HU for CT, arbitrary units for MR) to 8-bit grey.
import Imaging

/// A linear map from the range `lower...upper` of image values to grey 0...255.
struct GreyWindow: Equatable {
    let lower: Double
    let upper: Double

    /// Creates the window with centre `level` and full width `width`, so it spans
    /// level - width / 2 to level + width / 2 (CT level 40 / width 400 spans -160 to 240 HU).
    init(level: Double, width: Double) {
        lower = level - width / 2
        upper = level + width / 2
    }

    /// Creates the window from the 1st to the 99th percentile of the finite `values`, as MR
    /// intensities have no fixed scale. Returns nil when no value is finite.
    init?(percentilesOf values: [Float]) {
        let sorted = values.filter(\.isFinite).map(Double.init).sorted()
        guard !sorted.isEmpty else { return nil }
        lower = Self.percentile(1, ofSorted: sorted)
        upper = Self.percentile(99, ofSorted: sorted)
    }

    /// Maps `value` to grey, rounding half up (HU 40 in the CT window above gives 127.5, so 128)
    /// and clamping to 0...255. NaN maps to 0. A window of zero width maps everything to 128.
    func grey(_ value: Float) -> UInt8 {
        guard upper > lower else { return 128 }
        return UInt8(clampingDouble: (Double(value) - lower) / (upper - lower) * 255)
    }

    /// Returns the `percent` percentile of ascending `sorted` values, interpolating linearly
    /// between the two nearest ranks (NumPy's default "linear" method).
    static func percentile(_ percent: Double, ofSorted sorted: [Double]) -> Double {
        let rank = percent / 100 * Double(sorted.count - 1)
        let below = Int(rank.rounded(.down))
        let above = min(below + 1, sorted.count - 1)
        let fraction = rank - Double(below)
        return sorted[below] + (sorted[above] - sorted[below]) * fraction
    }
}
