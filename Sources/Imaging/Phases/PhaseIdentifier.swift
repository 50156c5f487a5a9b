// Identifies the contrast phase of each series of a study from the available hints.

/// The hints about one series of a study that phase identification uses.
public struct PhaseCandidate: Sendable {
    /// Series Instance UID; also the key of the user mapping.
    public var seriesInstanceUID: String
    public var seriesNumber: Int?
    public var seriesDescription: String?
    /// Contrast/Bolus Agent; nil when absent or empty.
    public var contrastAgent: String?
    /// Acquisition Time, seconds after midnight.
    public var acquisitionTime: Double?
    /// Mean attenuation of the aorta and of the portal vein in HU, when a caller has measured them (CT only).
    public var aortaHU: Double?
    public var portalVeinHU: Double?

    public init(seriesInstanceUID: String, seriesNumber: Int? = nil, seriesDescription: String? = nil, contrastAgent: String? = nil,
                acquisitionTime: Double? = nil, aortaHU: Double? = nil, portalVeinHU: Double? = nil) {
        self.seriesInstanceUID = seriesInstanceUID
        self.seriesNumber = seriesNumber
        self.seriesDescription = seriesDescription
        self.contrastAgent = contrastAgent
        self.acquisitionTime = acquisitionTime
        self.aortaHU = aortaHU
        self.portalVeinHU = portalVeinHU
    }

    /// Creates a candidate from the attributes of an assembled series.
    public init(_ attributes: SeriesAttributes) {
        self.init(seriesInstanceUID: attributes.seriesInstanceUID, seriesNumber: attributes.seriesNumber,
                  seriesDescription: attributes.seriesDescription, contrastAgent: attributes.contrastAgent,
                  acquisitionTime: attributes.acquisitionTime)
    }
}

/// A phase with the hint that decided it.
public struct PhaseAssignment: Sendable, Codable, Equatable {
    /// The phase, or nil when no hint decides one.
    public var phase: Phase?
    /// The deciding hint, e.g. "user mapping" or "Series Description keyword 'arterial'".
    public var evidence: String
}

/// Identifies phases from, strongest first: the user's mapping, measured aorta and portal vein
/// attenuation, Acquisition Time order of the contrast-enhanced series, Contrast/Bolus Agent, and
/// Series Description keywords.
public enum PhaseIdentifier {
    /// Returns a phase assignment for every candidate, keyed by Series Instance UID.
    ///
    /// - parameters:
    ///   - candidates: the series of one study.
    ///   - userMapping: phases by Series Instance UID or by Series Number written as text; always wins.
    public static func identify(_ candidates: [PhaseCandidate], userMapping: [String: Phase] = [:]) -> [String: PhaseAssignment] {
        let candidates = acrossMidnight(candidates)
        var result: [String: PhaseAssignment] = [:]
        var enhanced: [PhaseCandidate] = []

        // Pass 1: decisive hints for each series on its own.
        for candidate in candidates {
            let uid = candidate.seriesInstanceUID
            if let phase = userMapping[uid] ?? candidate.seriesNumber.flatMap({ userMapping[String($0)] }) {
                result[uid] = PhaseAssignment(phase: phase, evidence: "user mapping")
                continue
            }
            if let aorta = candidate.aortaHU, let portal = candidate.portalVeinHU {
                result[uid] = PhaseAssignment(phase: phase(aortaHU: aorta, portalVeinHU: portal),
                                              evidence: "aorta \(Int(aorta.rounded())) HU, portal vein \(Int(portal.rounded())) HU")
                continue
            }
            let keyword = candidate.seriesDescription.flatMap(PhaseKeywords.phase(in:))
            if candidate.contrastAgent == nil && (keyword == nil || keyword?.phase == .nonContrast) {
                result[uid] = PhaseAssignment(phase: .nonContrast, evidence: keyword.map { "no Contrast/Bolus Agent, Series Description keyword '\($0.keyword)'" } ?? "no Contrast/Bolus Agent")
                continue
            }
            enhanced.append(candidate)
        }

        // Pass 2: three enhanced series with acquisition times are AP, PV and DP in time order.
        let timed = enhanced.filter { $0.acquisitionTime != nil }.sorted { $0.acquisitionTime! < $1.acquisitionTime! }
        if timed.count == 3 && enhanced.count == 3 {
            for (candidate, phase) in zip(timed, [Phase.arterial, .portalVenous, .delayed]) {
                result[candidate.seriesInstanceUID] = PhaseAssignment(phase: phase, evidence: "Acquisition Time order of 3 contrast-enhanced series")
            }
            return result
        }

        // Pass 3: keywords; then time order fills the phases no keyword claimed.
        var unassigned: [PhaseCandidate] = []
        for candidate in enhanced {
            if let keyword = candidate.seriesDescription.flatMap(PhaseKeywords.phase(in:)), keyword.phase != .nonContrast {
                result[candidate.seriesInstanceUID] = PhaseAssignment(phase: keyword.phase, evidence: "Series Description keyword '\(keyword.keyword)'")
            } else {
                unassigned.append(candidate)
            }
        }
        let claimed = Set(result.values.compactMap(\.phase))
        let free = [Phase.arterial, .portalVenous, .delayed].filter { !claimed.contains($0) }
        let ordered = unassigned.filter { $0.acquisitionTime != nil }.sorted { $0.acquisitionTime! < $1.acquisitionTime! }
        if !ordered.isEmpty && ordered.count == free.count && ordered.count == unassigned.count {
            for (candidate, phase) in zip(ordered, free) {
                result[candidate.seriesInstanceUID] = PhaseAssignment(phase: phase, evidence: "Acquisition Time order among the phases not named by keywords")
            }
        } else {
            for candidate in unassigned {
                result[candidate.seriesInstanceUID] = PhaseAssignment(phase: nil, evidence: "contrast-enhanced, but no keyword, timing or mapping decides the phase")
            }
        }
        return result
    }

    /// Returns the candidates with the times after midnight moved to the next day when the
    /// times alone, without dates (all under 24 h), span more than 12 hours. The phases of one
    /// study follow each other within minutes, so such a span means that the scan crossed
    /// midnight: 23:59:40 then 00:00:20 is a 40 s step, not a step back of almost a day.
    static func acrossMidnight(_ candidates: [PhaseCandidate]) -> [PhaseCandidate] {
        let times = candidates.compactMap(\.acquisitionTime)
        guard let earliest = times.min(), let latest = times.max(), latest < 86_400, latest - earliest > 43_200 else { return candidates }
        return candidates.map { candidate in
            var moved = candidate
            if let time = candidate.acquisitionTime, time < 43_200 { moved.acquisitionTime = time + 86_400 }
            return moved
        }
    }

    /// Classifies by attenuation, with thresholds halfway between the typical values of each
    /// phase (aorta / portal vein: NC 40/40, AP 300/130, PV 170/190, DP 120/130 HU).
    static func phase(aortaHU aorta: Double, portalVeinHU portal: Double) -> Phase {
        if max(aorta, portal) < 80 { return .nonContrast }
        if aorta - portal > 80 { return .arterial }
        if max(aorta, portal) >= 150 { return .portalVenous }
        return .delayed
    }
}
