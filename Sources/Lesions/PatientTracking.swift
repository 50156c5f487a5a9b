// Tracking over all of a patient's studies at once: tracks, tracking events, threshold growth
// and the LI-RADS category it changes, and the response of every follow-up study.
import Foundation
import Imaging

/// One analysed study of a patient, as tracking needs it.
public struct AnalysedStudy: Sendable {
    public let study: Int64
    public let date: Date?
    /// Liver surface points in this study's patient space (LPS mm), from ``liverSurfacePoints(_:limit:)``.
    public let liverSurface: [Vector3]
    public let lesions: [AnalysedLesion]

    public init(study: Int64, date: Date?, liverSurface: [Vector3], lesions: [AnalysedLesion]) {
        self.study = study
        self.date = date
        self.liverSurface = liverSurface
        self.lesions = lesions
    }
}

/// One stored lesion of an analysed study.
public struct AnalysedLesion: Sendable {
    public let id: Int64
    public let centroid: Vector3
    public let maximumDiameterMillimetres: Double
    public let longestAxialDiameterMillimetres: Double
    /// Nil when the study has no arterial phase: mRECIST cannot assess that study.
    public let viableAxialDiameterMillimetres: Double?
    public let features: EnhancementFeatures
    /// The track number an earlier run of tracking stored for this lesion; nil when none did.
    public let storedTrack: Int?

    public init(id: Int64, centroid: Vector3, maximumDiameterMillimetres: Double, longestAxialDiameterMillimetres: Double,
                viableAxialDiameterMillimetres: Double?, features: EnhancementFeatures, storedTrack: Int? = nil) {
        self.id = id
        self.storedTrack = storedTrack
        self.centroid = centroid
        self.maximumDiameterMillimetres = maximumDiameterMillimetres
        self.longestAxialDiameterMillimetres = longestAxialDiameterMillimetres
        self.viableAxialDiameterMillimetres = viableAxialDiameterMillimetres
        self.features = features
    }
}

/// An event tracking found at one study.
public struct TrackEvent: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// A lesion seen for the first time after baseline.
        case new
        /// A track that had a lesion in the previous study and has none in this one.
        case vanished
        /// `other` merged into `track`.
        case merge
        /// `other` split off `track`.
        case split
    }

    public let study: Int64
    public let event: Kind
    public let track: Int
    public let other: Int?

    public init(study: Int64, event: Kind, track: Int, other: Int?) {
        self.study = study
        self.event = event
        self.track = track
        self.other = other
    }
}

/// The outcome for one lesion: its track, and its category once its history is known.
public struct TrackedLesionOutcome: Codable, Sendable, Equatable {
    public let lesion: Int64
    public let track: Int
    public let thresholdGrowth: Bool
    public let category: LIRADSCategory
}

/// A response assessment of one follow-up study.
public struct StudyResponse: Codable, Sendable, Equatable {
    public let study: Int64
    public let assessment: ResponseAssessment
}

/// Everything tracking writes back for one patient.
public struct PatientTracking: Codable, Sendable, Equatable {
    /// Every track number in use.
    public var tracks: [Int] = []
    public var lesions: [TrackedLesionOutcome] = []
    public var events: [TrackEvent] = []
    public var responses: [StudyResponse] = []
}

/// Tracks a patient's lesions through `studies`, which must be in date order.
///
/// Each study's liver is aligned onto the previous study's, and the transforms are chained. Every
/// lesion is so compared in the baseline's patient space with the last place each track was
/// seen, which lets a track reappear after a study without it. A track keeps the number an
/// earlier run stored for its lesions (see ``AnalysedLesion/storedTrack``). So a study that
/// arrives late, even one dated before the others, leaves the existing numbers in place, unless
/// it splits a stored track in two, whose second part gets a new number. New tracks get numbers
/// above the stored ones in order of first sighting, from 1 for a patient tracked for the first
/// time. Threshold growth compares a lesion with its own track's earlier diameters, and the
/// LI-RADS category is recomputed with it. Each follow-up study gets RECIST 1.1 and mRECIST
/// against the baseline (the first study) and the nadir when the baseline has target lesions.
/// mRECIST needs an arterial phase in the baseline and the study. A lesion split off a
/// track counts, as RECIST 1.1 has fragments count, towards the diameter sum of the track it
/// split from, not as a new lesion.
public func trackPatient(_ studies: [AnalysedStudy], gateMillimetres: Double = 10) -> PatientTracking {
    var tracking = PatientTracking()
    var lastSeen: [Int: TrackedLesion] = [:]
    var sizeHistory: [Int: [SizeMeasurement]] = [:]
    var measurements: [StudyMeasurements] = []
    var viableMeasured: [Bool] = []
    // The track a split-off track's lesions count towards in response assessment.
    var fragmentOf: [Int: Int] = [:]
    var toBaseline = RigidTransform.identity
    var previousTracks = Set<Int>()
    var nextTrack = 1

    for (index, study) in studies.enumerated() {
        if index > 0 {
            let step = alignRigidly(moving: study.liverSurface, onto: studies[index - 1].liverSurface)
            toBaseline = RigidTransform(rotation: toBaseline.rotation * step.rotation,
                                        translation: toBaseline.rotation * step.translation + toBaseline.translation)
        }
        let previous = lastSeen.values.sorted { $0.track < $1.track }
        let assignment = assignTracks(
            previous: previous,
            current: study.lesions.map { NewLesion(centroid: $0.centroid, maximumDiameterMillimetres: $0.maximumDiameterMillimetres) },
            transform: toBaseline, firstNewTrack: nextTrack, gateMillimetres: gateMillimetres)
        nextTrack += assignment.newTracks.count

        if index > 0 {
            tracking.events += assignment.newTracks.map { TrackEvent(study: study.study, event: .new, track: $0, other: nil) }
            tracking.events += assignment.vanishedTracks.filter(previousTracks.contains)
                .map { TrackEvent(study: study.study, event: .vanished, track: $0, other: nil) }
            tracking.events += assignment.merges.filter { previousTracks.contains($0.other) }.map { TrackEvent(study: study.study, event: .merge, track: $0.into, other: $0.other) }
            tracking.events += assignment.splits.map { TrackEvent(study: study.study, event: .split, track: $0.into, other: $0.other) }
            for split in assignment.splits { fragmentOf[split.other] = fragmentOf[split.into] ?? split.into }
        }

        var studyMeasurements: [LesionMeasurement] = []
        for (lesion, track) in zip(study.lesions, assignment.tracks) {
            lastSeen[track] = TrackedLesion(track: track, centroid: toBaseline.apply(lesion.centroid),
                                            maximumDiameterMillimetres: lesion.maximumDiameterMillimetres)
            var growth = false
            if let date = study.date {
                let measurement = SizeMeasurement(date: date, diameterMillimetres: lesion.longestAxialDiameterMillimetres)
                growth = hasThresholdGrowth(history: sizeHistory[track, default: []] + [measurement])
                sizeHistory[track, default: []].append(measurement)
            }
            let category = liradsCategory(MajorFeatures(
                arterialEnhancement: lesion.features.arterialEnhancement, sizeMillimetres: lesion.longestAxialDiameterMillimetres,
                nonperipheralWashout: lesion.features.nonperipheralWashout, enhancingCapsule: lesion.features.enhancingCapsule,
                thresholdGrowth: growth))
            tracking.lesions.append(TrackedLesionOutcome(lesion: lesion.id, track: track, thresholdGrowth: growth, category: category))
            studyMeasurements.append(LesionMeasurement(
                track: fragmentOf[track] ?? track, longestDiameterMillimetres: lesion.longestAxialDiameterMillimetres,
                viableDiameterMillimetres: lesion.viableAxialDiameterMillimetres ?? 0,
                hasHCCPattern: lesion.features.arterialEnhancement == .nonrim && lesion.features.nonperipheralWashout))
        }
        previousTracks = Set(assignment.tracks)
        measurements.append(StudyMeasurements(lesions: studyMeasurements))
        // Without an arterial phase no lesion has a viable diameter; with one, a lesion without
        // (too small for a liver ring) counts as not enhancing.
        viableMeasured.append(study.lesions.isEmpty || study.lesions.contains { $0.viableAxialDiameterMillimetres != nil })

        if index > 0 {
            if let assessment = assessResponse(measurements, criteria: .recist11) {
                tracking.responses.append(StudyResponse(study: study.study, assessment: assessment))
            }
            // mRECIST on the studies with an arterial phase, as long as the baseline has one.
            let arterial = measurements.indices.filter { viableMeasured[$0] }
            if viableMeasured[0] && viableMeasured[index], let assessment = assessResponse(arterial.map { measurements[$0] }, criteria: .mRECIST) {
                tracking.responses.append(StudyResponse(study: study.study, assessment: assessment))
            }
        }
    }
    tracking.tracks = Array(1..<nextTrack)
    let storedTracks = Dictionary(
        studies.flatMap(\.lesions).compactMap { lesion in lesion.storedTrack.map { (lesion.id, $0) } },
        uniquingKeysWith: { first, _ in first })
    return tracking.renumbered(stableTrackNumbers(runTracks: tracking.tracks, lesions: tracking.lesions, storedTracks: storedTracks))
}
