// Track numbers that survive re-tracking. Tracking numbers its tracks in order of first sighting,
// so a study dated before the ones already tracked would shift every number, and the lesion a
// report called "track 2" would become another track's. These functions carry over the numbers
// stored by the previous run instead.

/// Returns the number each track of a run gets, keyed by the run's own track number.
///
/// A run track keeps the stored number of its first lesion in `lesions` (study order) that has
/// one. When two run tracks claim the same number, as when lesions stored on one track now fall
/// on two, the track sighted first keeps it. Every other run track gets a new number above all
/// stored ones, in order of first sighting.
///
/// - parameters:
///   - runTracks: the run's track numbers.
///   - lesions: the run's outcomes in study order.
///   - storedTracks: the number stored for each lesion by an earlier run, by lesion ID.
func stableTrackNumbers(runTracks: [Int], lesions: [TrackedLesionOutcome], storedTracks: [Int64: Int]) -> [Int: Int] {
    var claims: [Int: Int] = [:]
    for outcome in lesions where claims[outcome.track] == nil {
        if let stored = storedTracks[outcome.lesion] { claims[outcome.track] = stored }
    }

    // Run track numbers follow the order of first sighting, so sorting them gives that order.
    let inSightingOrder = runTracks.sorted()
    var numbers: [Int: Int] = [:]
    var assigned = Set<Int>()
    for track in inSightingOrder {
        if let claim = claims[track], !assigned.contains(claim) {
            numbers[track] = claim
            assigned.insert(claim)
        }
    }
    var next = (storedTracks.values.max() ?? 0) + 1
    for track in inSightingOrder where numbers[track] == nil {
        numbers[track] = next
        next += 1
    }
    return numbers
}

extension PatientTracking {
    /// Returns this tracking with every track number `numbers` maps replaced: tracks, lesion
    /// outcomes, events and the new-lesion lists of the responses.
    func renumbered(_ numbers: [Int: Int]) -> PatientTracking {
        func number(_ track: Int) -> Int { numbers[track] ?? track }
        var result = PatientTracking()
        result.tracks = tracks.map(number).sorted()
        result.lesions = lesions.map {
            TrackedLesionOutcome(lesion: $0.lesion, track: number($0.track), thresholdGrowth: $0.thresholdGrowth, category: $0.category)
        }
        result.events = events.map { TrackEvent(study: $0.study, event: $0.event, track: number($0.track), other: $0.other.map(number)) }
        result.responses = responses.map { response in
            let assessment = response.assessment
            return StudyResponse(study: response.study, assessment: ResponseAssessment(
                category: assessment.category, criteria: assessment.criteria, sumMillimetres: assessment.sumMillimetres,
                baselineSumMillimetres: assessment.baselineSumMillimetres, nadirSumMillimetres: assessment.nadirSumMillimetres,
                newLesionTracks: assessment.newLesionTracks.map(number).sorted()))
        }
        return result
    }
}
