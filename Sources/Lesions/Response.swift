// Treatment response per study: RECIST 1.1 on whole-lesion diameters and mRECIST on the viable
// (arterially enhancing) diameters of HCC, against baseline and nadir.

/// A response category.
public enum ResponseCategory: String, Codable, Sendable, CaseIterable {
    case completeResponse = "CR"
    case partialResponse = "PR"
    case stableDisease = "SD"
    case progressiveDisease = "PD"
}

/// Which criteria to apply.
public enum ResponseCriteria: String, Codable, Sendable {
    /// Longest axial diameter of each whole target lesion.
    case recist11 = "RECIST 1.1"
    /// Longest viable (arterially enhancing) diameter of each target lesion.
    case mRECIST
}

/// One tracked lesion at one study.
public struct LesionMeasurement: Codable, Sendable, Equatable {
    /// The persistent track ID that links the lesion across studies.
    public let track: Int
    /// Longest axial diameter in mm; 0 when the lesion is no longer seen.
    public let longestDiameterMillimetres: Double
    /// Longest diameter of the arterially enhancing part in mm; 0 when none enhances.
    public let viableDiameterMillimetres: Double
    /// Whether the lesion shows the HCC enhancement pattern (nonrim APHE with washout), which
    /// mRECIST requires of target lesions and of a new lesion that counts as progression.
    public let hasHCCPattern: Bool

    public init(track: Int, longestDiameterMillimetres: Double, viableDiameterMillimetres: Double, hasHCCPattern: Bool) {
        self.track = track
        self.longestDiameterMillimetres = longestDiameterMillimetres
        self.viableDiameterMillimetres = viableDiameterMillimetres
        self.hasHCCPattern = hasHCCPattern
    }
}

/// All tracked lesions of one liver study, in date order within a patient's series.
public struct StudyMeasurements: Codable, Sendable, Equatable {
    public let lesions: [LesionMeasurement]

    public init(lesions: [LesionMeasurement]) { self.lesions = lesions }
}

/// The response of one follow-up study, with the numbers behind it.
public struct ResponseAssessment: Codable, Sendable, Equatable {
    public let category: ResponseCategory
    public let criteria: ResponseCriteria
    /// Sum of the target diameters in this study, baseline and the smallest earlier sum, in mm.
    public let sumMillimetres: Double
    public let baselineSumMillimetres: Double
    public let nadirSumMillimetres: Double
    /// Track IDs first seen after baseline that count as new lesions. Under RECIST 1.1 a new
    /// lesion under 10 mm is equivocal on the study where it first appears and counts once a
    /// later study shows it again.
    public let newLesionTracks: [Int]
}

/// Target lesions are at least 10 mm; RECIST 1.1 allows at most 2 per organ and 5 in all, and
/// every lesion here is in one organ, the liver.
public let maximumTargetLesions = 2
public let minimumMeasurableMillimetres = 10.0

/// Chooses the target lesions at baseline: measurable lesions, largest first, at most two.
/// mRECIST takes only lesions with the HCC pattern and measures their viable diameter.
public func targetTracks(baseline: StudyMeasurements, criteria: ResponseCriteria) -> [Int] {
    baseline.lesions
        .filter { criteria == .recist11 || $0.hasHCCPattern }
        .filter { diameter($0, criteria) >= minimumMeasurableMillimetres }
        .sorted { diameter($0, criteria) != diameter($1, criteria) ? diameter($0, criteria) > diameter($1, criteria) : $0.track < $1.track }
        .prefix(maximumTargetLesions)
        .map(\.track)
}

/// Assesses the last study of `studies` (baseline first) against baseline and nadir.
///
/// Progression comes first: a new lesion or a sum at least 20% and at least 5 mm above the nadir,
/// the smallest sum of any earlier study including baseline. A new lesion counts under RECIST
/// 1.1 when it is unequivocal: at least 10 mm, or seen again on a later study than the one where
/// it appeared, because a smaller finding on one scan may be noise. Under mRECIST it must be at
/// least 10 mm with the HCC pattern. Then CR when every target is gone (mRECIST: no target
/// enhances), PR when the sum is at least 30% below baseline, SD otherwise.
/// NOTE: mRECIST here uses RECIST 1.1's 5 mm floor as well, treating both as one scheme.
///
/// - returns: nil when there is no follow-up study or the baseline has no target lesion.
public func assessResponse(_ studies: [StudyMeasurements], criteria: ResponseCriteria) -> ResponseAssessment? {
    guard studies.count >= 2, let baseline = studies.first else { return nil }
    let targets = targetTracks(baseline: baseline, criteria: criteria)
    guard !targets.isEmpty else { return nil }

    // Fragments of a target carry its track, and their diameters add up.
    let sums = studies.map { study in
        targets.reduce(0.0) { total, track in
            total + study.lesions.filter { $0.track == track }.reduce(0) { $0 + diameter($1, criteria) }
        }
    }
    let current = sums.last!
    let baselineSum = sums.first!
    let nadir = sums.dropLast().min()!

    let baselineTracks = Set(baseline.lesions.map(\.track))
    let seenOnEarlierFollowUp = Set(studies.dropFirst().dropLast().flatMap { study in
        study.lesions.filter { $0.longestDiameterMillimetres > 0 }.map(\.track)
    })
    let newLesions = studies.last!.lesions.filter { lesion in
        guard !baselineTracks.contains(lesion.track), lesion.longestDiameterMillimetres > 0 else { return false }
        let measurable = lesion.longestDiameterMillimetres >= minimumMeasurableMillimetres
        if criteria == .mRECIST {
            return lesion.hasHCCPattern && measurable
        }
        return measurable || seenOnEarlierFollowUp.contains(lesion.track)
    }

    // Thresholds are inclusive; the tolerance keeps a sum exactly on one (35 mm against 50 mm)
    // from falling on the wrong side through rounding.
    let tolerance = 1e-9
    let category: ResponseCategory
    if !newLesions.isEmpty || (current >= nadir * 1.2 - tolerance && current - nadir >= 5 - tolerance) {
        category = .progressiveDisease
    } else if current == 0 {
        category = .completeResponse
    } else if current <= baselineSum * 0.7 + tolerance {
        category = .partialResponse
    } else {
        category = .stableDisease
    }
    return ResponseAssessment(category: category, criteria: criteria, sumMillimetres: current, baselineSumMillimetres: baselineSum,
                              nadirSumMillimetres: nadir, newLesionTracks: newLesions.map(\.track).sorted())
}

private func diameter(_ lesion: LesionMeasurement, _ criteria: ResponseCriteria) -> Double {
    criteria == .recist11 ? lesion.longestDiameterMillimetres : lesion.viableDiameterMillimetres
}
