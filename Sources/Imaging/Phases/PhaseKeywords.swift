// Series Description keywords for each phase, in English, German, French, Spanish and Italian.
import Foundation

enum PhaseKeywords {
    /// Patterns matched against the lowercased description with diacritics removed. Patterns of
    /// up to three letters match whole words only, longer ones anywhere. The longest match wins,
    /// so "late arterial" is arterial, not delayed.
    static let patterns: [(pattern: String, phase: Phase)] = [
        ("non contrast", .nonContrast), ("non-contrast", .nonContrast), ("noncontrast", .nonContrast),
        ("without contrast", .nonContrast), ("pre contrast", .nonContrast), ("pre-contrast", .nonContrast),
        ("precontrast", .nonContrast), ("unenhanced", .nonContrast), ("plain", .nonContrast), ("native", .nonContrast),
        ("nativ", .nonContrast), ("sans injection", .nonContrast), ("sans contraste", .nonContrast),
        ("sin contraste", .nonContrast), ("senza contrasto", .nonContrast), ("senza mdc", .nonContrast),
        ("basal", .nonContrast), ("pre", .nonContrast), ("nc", .nonContrast),
        ("arterial", .arterial), ("arteriell", .arterial), ("arterielle", .arterial), ("arteriel", .arterial),
        ("arteriale", .arterial), ("late arterial", .arterial), ("early arterial", .arterial), ("art", .arterial), ("ap", .arterial),
        ("portal venous", .portalVenous), ("portal", .portalVenous), ("portalvenos", .portalVenous), ("portovenous", .portalVenous),
        ("venous", .portalVenous), ("venos", .portalVenous), ("veineux", .portalVenous), ("veineuse", .portalVenous),
        ("venosa", .portalVenous), ("portale", .portalVenous), ("pv", .portalVenous), ("pvp", .portalVenous),
        ("delayed", .delayed), ("delay", .delayed), ("late", .delayed), ("equilibrium", .delayed), ("transitional", .delayed),
        ("spat", .delayed), ("spaet", .delayed), ("tardive", .delayed), ("tardif", .delayed), ("tardia", .delayed),
        ("tardiva", .delayed), ("ritardata", .delayed), ("equilibrio", .delayed), ("dp", .delayed),
    ]

    /// Returns the phase a description names and the matched keyword, or nil.
    static func phase(in description: String) -> (phase: Phase, keyword: String)? {
        let text = description.folding(options: [.diacriticInsensitive, .caseInsensitive], locale: nil).lowercased()
        let words = Set(text.split { !$0.isLetter }.map(String.init))
        var best: (phase: Phase, keyword: String)?
        for (pattern, phase) in patterns {
            let matches = pattern.count <= 3 ? words.contains(pattern) : text.contains(pattern)
            if matches && pattern.count > (best?.keyword.count ?? 0) {
                best = (phase, pattern)
            }
        }
        return best
    }
}
