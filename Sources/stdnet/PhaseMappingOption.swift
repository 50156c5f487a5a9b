// The --phase option of submit and convert: phases that override every hint, per series.
import Imaging

/// Parses `SERIES=PHASE` pairs, comma-separated, where SERIES is a Series Number or Series
/// Instance UID and PHASE one of NC, AP, PV, DP in any letter case. A series given twice is a
/// usage error, and so are two series with one phase unless `sharedPhases` allows them, as a
/// folder of several studies does.
func parsePhaseMapping(_ text: String, sharedPhases: Bool) throws -> [String: Phase] {
    var mapping: [String: Phase] = [:]
    for pair in text.split(separator: ",") {
        let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, let phase = Phase(code: parts[1]) else {
            throw UsageError("--phase expects SERIES=PHASE pairs with PHASE one of NC, AP, PV, DP; got '\(pair)'")
        }
        if let earlier = mapping[parts[0]] {
            throw UsageError("--phase maps series \(parts[0]) twice (\(earlier.rawValue) and \(phase.rawValue)); give each series one phase")
        }
        if !sharedPhases, let other = mapping.first(where: { $0.value == phase })?.key {
            throw UsageError("--phase maps series \(other) and \(parts[0]) both to \(phase.rawValue); a study has one series per phase")
        }
        mapping[parts[0]] = phase
    }
    return mapping
}
