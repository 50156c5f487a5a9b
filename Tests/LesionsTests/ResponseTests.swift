import Lesions
import Testing

@Suite struct ResponseTests {
    private func study(_ lesions: [(Int, Double)], viable: [Int: Double] = [:], hcc: Set<Int> = []) -> StudyMeasurements {
        StudyMeasurements(lesions: lesions.map { track, diameter in
            LesionMeasurement(track: track, longestDiameterMillimetres: diameter, viableDiameterMillimetres: viable[track] ?? diameter,
                              hasHCCPattern: hcc.contains(track))
        })
    }

    private func recist(_ studies: [StudyMeasurements]) -> ResponseCategory? {
        assessResponse(studies, criteria: .recist11)?.category
    }

    @Test func targetsAreTwoLargestMeasurable() {
        let baseline = study([(1, 12), (2, 40), (3, 9), (4, 25)])
        #expect(targetTracks(baseline: baseline, criteria: .recist11) == [2, 4])
    }

    @Test func partialResponseAtThirtyPercent() {
        // Baseline sum 50 mm: 35 mm is exactly 30% smaller, 35.1 mm is not.
        let baseline = study([(1, 30), (2, 20)])
        #expect(recist([baseline, study([(1, 20), (2, 15)])]) == .partialResponse)
        #expect(recist([baseline, study([(1, 20), (2, 15.1)])]) == .stableDisease)
    }

    @Test func progressionAtTwentyPercentAboveNadir() {
        // Nadir 30 mm at the second study; 36 mm is +20% and +6 mm.
        let studies = [study([(1, 30), (2, 20)]), study([(1, 18), (2, 12)])]
        #expect(recist(studies + [study([(1, 22), (2, 14)])]) == .progressiveDisease)
        // 35.9 mm is +19.7% over the nadir and above 70% of the 50 mm baseline.
        #expect(recist(studies + [study([(1, 22), (2, 13.9)])]) == .stableDisease)
        #expect(assessResponse(studies + [study([(1, 22), (2, 14)])], criteria: .recist11)?.nadirSumMillimetres == 30)
    }

    @Test func fiveMillimetreFloorBlocksSmallGrowth() {
        // Nadir 20 mm: 24 mm is +20% but only +4 mm, so not progression; 25 mm is +25% and +5 mm.
        let baseline = study([(1, 12), (2, 10)])
        let nadir = study([(1, 10), (2, 10)])
        #expect(recist([baseline, nadir, study([(1, 14), (2, 10)])]) == .stableDisease)
        #expect(recist([baseline, nadir, study([(1, 15), (2, 10)])]) == .progressiveDisease)
    }

    @Test func newLesionIsProgression() {
        let baseline = study([(1, 30)])
        let assessment = assessResponse([baseline, study([(1, 28), (7, 12)])], criteria: .recist11)
        #expect(assessment?.category == .progressiveDisease)
        #expect(assessment?.newLesionTracks == [7])
    }

    @Test func smallNewLesionCountsOnceSeenAgain() {
        // A 6 mm finding is equivocal on its first study and progression when the next shows it.
        let baseline = study([(1, 30)])
        let first = assessResponse([baseline, study([(1, 28), (7, 6)])], criteria: .recist11)
        #expect(first?.category == .stableDisease)
        #expect(first?.newLesionTracks == [])
        let confirmed = assessResponse([baseline, study([(1, 28), (7, 6)]), study([(1, 28), (7, 7)])], criteria: .recist11)
        #expect(confirmed?.category == .progressiveDisease)
        #expect(confirmed?.newLesionTracks == [7])
        // Gone again on the next study: nothing is confirmed.
        let vanished = assessResponse([baseline, study([(1, 28), (7, 6)]), study([(1, 28), (7, 0)])], criteria: .recist11)
        #expect(vanished?.category == .stableDisease)
    }

    @Test func allTargetsGoneIsCompleteResponse() {
        #expect(recist([study([(1, 30), (2, 20)]), study([(1, 0), (2, 0)])]) == .completeResponse)
        #expect(recist([study([(1, 30), (2, 20)]), study([])]) == .completeResponse)
    }

    @Test func mRECISTMeasuresViableTumour() {
        // Whole diameters stay put while enhancement fades: RECIST is stable, mRECIST responds.
        let baseline = study([(1, 40), (2, 30)], viable: [1: 40, 2: 30], hcc: [1, 2])
        let afterTreatment = study([(1, 38), (2, 30)], viable: [1: 10, 2: 0], hcc: [1, 2])
        let gone = study([(1, 38), (2, 30)], viable: [1: 0, 2: 0], hcc: [1, 2])
        #expect(recist([baseline, afterTreatment]) == .stableDisease)
        #expect(assessResponse([baseline, afterTreatment], criteria: .mRECIST)?.category == .partialResponse)
        #expect(assessResponse([baseline, gone], criteria: .mRECIST)?.category == .completeResponse)
    }

    @Test func mRECISTNewLesionNeedsHCCPatternAndSize() {
        let baseline = study([(1, 40)], hcc: [1])
        let followUp = study([(1, 30)], viable: [1: 30], hcc: [1])
        let smallHCC = study([(1, 30), (5, 9)], hcc: [1, 5])
        let largeNonHCC = study([(1, 30), (5, 15)], hcc: [1])
        let largeHCC = study([(1, 30), (5, 10)], hcc: [1, 5])
        #expect(assessResponse([baseline, followUp], criteria: .mRECIST)?.category == .stableDisease)
        #expect(assessResponse([baseline, smallHCC], criteria: .mRECIST)?.category == .stableDisease)
        #expect(assessResponse([baseline, largeNonHCC], criteria: .mRECIST)?.category == .stableDisease)
        #expect(assessResponse([baseline, largeHCC], criteria: .mRECIST)?.category == .progressiveDisease)
        // RECIST 1.1 counts the 9 mm lesion once a second study shows it.
        #expect(recist([baseline, smallHCC]) == .stableDisease)
        #expect(recist([baseline, smallHCC, smallHCC]) == .progressiveDisease)
    }

    @Test func noTargetsNoAssessment() {
        #expect(assessResponse([study([(1, 8)]), study([(1, 9)])], criteria: .recist11) == nil)
        #expect(assessResponse([study([(1, 30)])], criteria: .recist11) == nil)
    }
}
