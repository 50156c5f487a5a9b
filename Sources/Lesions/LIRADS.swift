// LI-RADS v2018 CT/MRI diagnostic categories from the major imaging features. The category is
// for patients at high risk of HCC; the product reports features and category, never a diagnosis.
import Foundation

/// Arterial phase hyperenhancement of an observation, relative to liver parenchyma.
public enum ArterialEnhancement: String, Codable, Sendable, CaseIterable {
    /// Not brighter than the liver in the arterial phase.
    case none
    /// Brighter than the liver, not only at the rim: a major feature of HCC.
    case nonrim
    /// Brighter only at the rim: points to a non-HCC malignancy (LR-M).
    case rim
    /// The study has no arterial phase, so arterial enhancement cannot be judged.
    case notAssessed = "not assessed"

    /// Decodes a value; one this build does not know, from a newer build, is `notAssessed`, so
    /// that a track job does not fail on it.
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = ArterialEnhancement(rawValue: text) ?? .notAssessed
    }
}

/// The major features LI-RADS v2018 scores, measured on one observation.
public struct MajorFeatures: Codable, Sendable, Equatable {
    public var arterialEnhancement: ArterialEnhancement
    /// Largest outer-edge diameter in millimetres.
    public var sizeMillimetres: Double
    /// Lower than liver in the portal venous or delayed phase, not only at the margin.
    public var nonperipheralWashout: Bool
    /// A smooth rim brighter than liver in the portal venous or delayed phase.
    public var enhancingCapsule: Bool
    /// Size up at least 50% within at most 6 months; see ``hasThresholdGrowth(from:to:)``.
    public var thresholdGrowth: Bool

    public init(arterialEnhancement: ArterialEnhancement, sizeMillimetres: Double, nonperipheralWashout: Bool,
                enhancingCapsule: Bool, thresholdGrowth: Bool) {
        self.arterialEnhancement = arterialEnhancement
        self.sizeMillimetres = sizeMillimetres
        self.nonperipheralWashout = nonperipheralWashout
        self.enhancingCapsule = enhancingCapsule
        self.thresholdGrowth = thresholdGrowth
    }

    /// How many of the additional major features (capsule, washout, threshold growth) are present.
    public var additionalFeatureCount: Int {
        [nonperipheralWashout, enhancingCapsule, thresholdGrowth].filter { $0 }.count
    }
}

/// LI-RADS diagnostic categories this product assigns.
public enum LIRADSCategory: String, Codable, Sendable, CaseIterable {
    case lr3 = "LR-3"
    case lr4 = "LR-4"
    case lr5 = "LR-5"
    case lrM = "LR-M"
    /// Not categorizable because of image omission: here, a study without an arterial phase,
    /// on which neither arterial enhancement nor washout can be judged.
    case lrNC = "LR-NC"
}

/// Assigns the LI-RADS v2018 category from the diagnostic table.
///
/// Rim APHE gives LR-M before the table is consulted. In the table, rows are APHE (none or
/// nonrim) by size (< 10, 10-19, >= 20 mm) and columns the count of additional major features;
/// the one split cell (nonrim APHE, 10-19 mm, one feature) is LR-4 when that feature is the
/// capsule and LR-5 when it is washout or threshold growth.
public func liradsCategory(_ features: MajorFeatures) -> LIRADSCategory {
    let count = features.additionalFeatureCount
    let size = features.sizeMillimetres

    switch features.arterialEnhancement {
    case .notAssessed:
        return .lrNC
    case .rim:
        return .lrM
    case .none:
        if count == 0 { return .lr3 }
        if count == 1 { return size < 20 ? .lr3 : .lr4 }
        return .lr4
    case .nonrim:
        if size < 10 {
            return count == 0 ? .lr3 : .lr4
        }
        if size < 20 {
            if count == 0 { return .lr3 }
            if count >= 2 { return .lr5 }
            return features.enhancingCapsule ? .lr4 : .lr5
        }
        return count == 0 ? .lr4 : .lr5
    }
}

/// A size of one observation at one study date.
public struct SizeMeasurement: Codable, Sendable, Equatable {
    public let date: Date
    public let diameterMillimetres: Double

    public init(date: Date, diameterMillimetres: Double) {
        self.date = date
        self.diameterMillimetres = diameterMillimetres
    }
}

/// Whether the observation grew by threshold growth between two measurements: a size increase
/// of at least 50% within at most 6 calendar months (UTC calendar).
public func hasThresholdGrowth(from earlier: SizeMeasurement, to later: SizeMeasurement) -> Bool {
    guard earlier.diameterMillimetres > 0, later.date >= earlier.date else { return false }
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    guard let limit = calendar.date(byAdding: .month, value: 6, to: earlier.date), later.date <= limit else { return false }
    return later.diameterMillimetres >= 1.5 * earlier.diameterMillimetres
}

/// Threshold growth at the latest measurement against any earlier one within 6 months.
public func hasThresholdGrowth(history: [SizeMeasurement]) -> Bool {
    guard let latest = history.max(by: { $0.date < $1.date }) else { return false }
    return history.contains { $0.date < latest.date && hasThresholdGrowth(from: $0, to: latest) }
}
