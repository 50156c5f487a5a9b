import Foundation
import Imaging
import Lesions
import Testing

/// Tracking a constructed patient over three studies, with sizes and features chosen so that
/// each step's outcome can be worked out by hand.
@Suite struct PatientTrackingTests {
    static let plain = EnhancementFeatures(arterialEnhancement: .nonrim, nonperipheralWashout: false, enhancingCapsule: false)
    static let hccPattern = EnhancementFeatures(arterialEnhancement: .nonrim, nonperipheralWashout: true, enhancingCapsule: false)

    /// The same irregular liver surface in every study, so alignment is the identity.
    static let liver: [Vector3] = (0..<300).map { index in
        let t = Double(index)
        return Vector3(80 * cos(t * 0.37), 50 * sin(t * 0.61), 40 * cos(t * 0.23) + 10 * sin(t * 1.7))
    }

    static func lesion(_ id: Int64, at x: Double, diameter: Double, viable: Double, _ features: EnhancementFeatures) -> AnalysedLesion {
        AnalysedLesion(id: id, centroid: Vector3(x, 0, 0), maximumDiameterMillimetres: diameter, longestAxialDiameterMillimetres: diameter,
                       viableAxialDiameterMillimetres: viable, features: features)
    }

    static func date(_ text: String) -> Date { try! Date.ISO8601FormatStyle().year().month().day().parse(text) }

    static let studies = [
        AnalysedStudy(study: 1, date: date("2024-01-01"), liverSurface: liver, lesions: [
            lesion(10, at: 50, diameter: 20, viable: 20, hccPattern),
            lesion(11, at: 0, diameter: 15, viable: 15, plain),
        ]),
        AnalysedStudy(study: 2, date: date("2024-03-01"), liverSurface: liver, lesions: [
            lesion(20, at: 51, diameter: 12, viable: 12, hccPattern),
            lesion(21, at: 1, diameter: 10, viable: 10, plain),
        ]),
        // The HCC has gone, the other lesion grew by 60% in two months, a lesion without the HCC pattern appeared.
        AnalysedStudy(study: 3, date: date("2024-05-01"), liverSurface: liver, lesions: [
            lesion(30, at: 0, diameter: 16, viable: 16, plain),
            lesion(31, at: -50, diameter: 12, viable: 12, plain),
        ]),
    ]

    @Test func tracksFollowTheLesionsAndRecordEvents() {
        let tracking = trackPatient(Self.studies)
        #expect(tracking.tracks == [1, 2, 3])
        #expect(tracking.lesions.map(\.track) == [1, 2, 1, 2, 2, 3])
        #expect(tracking.events == [
            TrackEvent(study: 3, event: .new, track: 3, other: nil),
            TrackEvent(study: 3, event: .vanished, track: 1, other: nil),
        ])
    }

    @Test func lateEarlierStudyKeepsTrackNumbers() {
        // Studies 2 and 3 are tracked first: 20 and 21 start tracks 1 and 2, 30 continues 2 and
        // 31 starts 3. Then study 1 arrives, dated before them, with a third lesion (12) that no
        // later study shows. Numbered from scratch, 12 would take track 3 and 31 would become 4.
        let first = trackPatient(Array(Self.studies[1...]))
        #expect(first.lesions.map(\.track) == [1, 2, 2, 3])
        let stored = Dictionary(uniqueKeysWithValues: first.lesions.map { ($0.lesion, $0.track) })

        func withStoredTracks(_ study: AnalysedStudy) -> AnalysedStudy {
            AnalysedStudy(study: study.study, date: study.date, liverSurface: study.liverSurface, lesions: study.lesions.map {
                AnalysedLesion(id: $0.id, centroid: $0.centroid, maximumDiameterMillimetres: $0.maximumDiameterMillimetres,
                               longestAxialDiameterMillimetres: $0.longestAxialDiameterMillimetres,
                               viableAxialDiameterMillimetres: $0.viableAxialDiameterMillimetres, features: $0.features,
                               storedTrack: stored[$0.id])
            })
        }
        let earlier = AnalysedStudy(study: 1, date: Self.date("2024-01-01"), liverSurface: Self.liver,
                                    lesions: Self.studies[0].lesions + [Self.lesion(12, at: 100, diameter: 8, viable: 8, Self.plain)])
        let second = trackPatient([earlier] + Self.studies[1...].map(withStoredTracks))

        let tracks = Dictionary(uniqueKeysWithValues: second.lesions.map { ($0.lesion, $0.track) })
        #expect(tracks == [10: 1, 11: 2, 12: 4, 20: 1, 21: 2, 30: 2, 31: 3])
        #expect(second.tracks == [1, 2, 3, 4])
        #expect(second.events.contains(TrackEvent(study: 2, event: .vanished, track: 4, other: nil)))
        #expect(second.events.contains(TrackEvent(study: 3, event: .new, track: 3, other: nil)))
        let recist = second.responses.first { $0.study == 3 && $0.assessment.criteria == .recist11 }?.assessment
        #expect(recist?.newLesionTracks == [3])
    }

    @Test func sharedStoredNumberGoesToFirstTrack() {
        // Lesions 10 and 11 were stored on one track, 5, but this run puts them on two: the one
        // sighted first keeps 5 and the other gets 6, the first number above every stored one.
        let study = AnalysedStudy(study: 1, date: Self.date("2024-01-01"), liverSurface: Self.liver, lesions: [
            AnalysedLesion(id: 10, centroid: Vector3(50, 0, 0), maximumDiameterMillimetres: 20, longestAxialDiameterMillimetres: 20,
                           viableAxialDiameterMillimetres: 20, features: Self.plain, storedTrack: 5),
            AnalysedLesion(id: 11, centroid: Vector3(0, 0, 0), maximumDiameterMillimetres: 15, longestAxialDiameterMillimetres: 15,
                           viableAxialDiameterMillimetres: 15, features: Self.plain, storedTrack: 5),
        ])
        let tracking = trackPatient([study])
        #expect(tracking.lesions.map(\.track) == [5, 6])
        #expect(tracking.tracks == [5, 6])
    }

    @Test func thresholdGrowthRaisesTheCategory() {
        let outcomes = Dictionary(uniqueKeysWithValues: trackPatient(Self.studies).lesions.map { ($0.lesion, $0) })
        // 15 mm with nonrim APHE alone is LR-3; 10 -> 16 mm within six months is threshold growth,
        // which as the one feature of a 10-19 mm APHE lesion makes it LR-5.
        #expect(outcomes[11]!.category == .lr3)
        #expect(outcomes[21]!.thresholdGrowth == false)
        #expect(outcomes[30]!.thresholdGrowth == true)
        #expect(outcomes[30]!.category == .lr5)
        // The new lesion has no history.
        #expect(outcomes[31]!.thresholdGrowth == false)
    }

    @Test func responsesFollowBothCriteria() {
        let responses = trackPatient(Self.studies).responses
        func response(_ study: Int64, _ criteria: ResponseCriteria) -> ResponseAssessment? {
            responses.first { $0.study == study && $0.assessment.criteria == criteria }?.assessment
        }
        // RECIST 1.1: targets 20 + 15 = 35 mm; 12 + 10 = 22 mm is below 70% (24.5 mm): PR; then a new lesion: PD.
        #expect(response(2, .recist11)?.category == .partialResponse)
        #expect(response(2, .recist11)?.sumMillimetres == 22)
        #expect(response(3, .recist11)?.category == .progressiveDisease)
        #expect(response(3, .recist11)?.newLesionTracks == [3])
        // mRECIST: the HCC alone is the target, 20 -> 12 mm viable is PR; gone, and the new lesion
        // lacks the HCC pattern: CR.
        #expect(response(2, .mRECIST)?.category == .partialResponse)
        #expect(response(3, .mRECIST)?.category == .completeResponse)
        #expect(response(3, .mRECIST)?.nadirSumMillimetres == 12)
    }

    @Test func fragmentsCountTowardsTheirTrack() {
        // A 40 mm lesion splits into two parts of 15 and 14 mm, 20 mm apart: the split is recorded,
        // and RECIST 1.1 adds the fragments (29 mm, 27.5% smaller: stable), with no new lesion.
        let studies = [
            AnalysedStudy(study: 1, date: Self.date("2024-01-01"), liverSurface: Self.liver, lesions: [
                Self.lesion(10, at: 0, diameter: 40, viable: 40, Self.plain),
            ]),
            AnalysedStudy(study: 2, date: Self.date("2024-03-01"), liverSurface: Self.liver, lesions: [
                Self.lesion(20, at: -10, diameter: 15, viable: 15, Self.plain),
                Self.lesion(21, at: 10, diameter: 14, viable: 14, Self.plain),
            ]),
        ]
        let tracking = trackPatient(studies)
        #expect(tracking.events.contains(TrackEvent(study: 2, event: .split, track: 1, other: 2)))
        let recist = tracking.responses.first { $0.assessment.criteria == .recist11 }?.assessment
        #expect(recist?.sumMillimetres == 29)
        #expect(recist?.newLesionTracks == [])
        #expect(recist?.category == .stableDisease)
    }

    @Test func mRECISTNeedsAnArterialPhase() {
        // The follow-up has no arterial phase, so no viable diameter: RECIST 1.1 only.
        let noArterial = AnalysedLesion(id: 20, centroid: Vector3(50, 0, 0), maximumDiameterMillimetres: 12,
                                        longestAxialDiameterMillimetres: 12, viableAxialDiameterMillimetres: nil, features: Self.hccPattern)
        let studies = [
            Self.studies[0],
            AnalysedStudy(study: 2, date: Self.date("2024-03-01"), liverSurface: Self.liver, lesions: [noArterial]),
        ]
        let criteria = trackPatient(studies).responses.map(\.assessment.criteria)
        #expect(criteria == [.recist11])
    }
}
