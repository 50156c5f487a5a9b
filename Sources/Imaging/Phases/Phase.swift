// The contrast phases of a multiphase liver study.

/// A contrast phase of a multiphase liver CT or MRI study.
public enum Phase: String, Sendable, Codable, CaseIterable {
    /// Non-contrast, before injection.
    case nonContrast = "NC"
    /// Late arterial, about 35-45 s after injection.
    case arterial = "AP"
    /// Portal venous, about 60-80 s after injection.
    case portalVenous = "PV"
    /// Delayed or transitional, about 3-5 min after injection.
    case delayed = "DP"

    /// Parses "NC", "AP", "PV" or "DP" in any case.
    public init?(code: String) {
        self.init(rawValue: code.uppercased())
    }

    /// Returns the phase whose grid the analysis works on: portal venous when present, else the
    /// first present in the order of acquisition.
    public static func reference(among present: Set<Phase>) -> Phase? {
        present.contains(.portalVenous) ? .portalVenous : allCases.first(where: present.contains)
    }
}
