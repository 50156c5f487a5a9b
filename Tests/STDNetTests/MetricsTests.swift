import Foundation
import Lesions
import STDNet
import Testing

@Suite struct MetricsTests {
    @Test func diceOfOverlappingBoxes() {
        // 4 voxels against 6, sharing 3: 2*3 / (4+6) = 0.6.
        var a = [Bool](repeating: false, count: 10)
        var b = a
        for index in 0..<4 { a[index] = true }
        for index in 1..<7 { b[index] = true }
        #expect(abs(dice(a, b) - 0.6) < 1e-12)
        #expect(dice([false, false], [false, false]) == 1)
    }

    @Test func hausdorff95OfShiftedCubes() {
        // Two 6-voxel cubes, one shifted by 2 voxels along w at 1.5 mm: every surface voxel of
        // the faces perpendicular to w lies 3 mm from the other cube's surface, and the rest at
        // most that, so the 95th percentile is 3 mm.
        let extent = [12, 12, 16]
        func cube(offset: Int) -> [Bool] {
            var mask = [Bool](repeating: false, count: extent.reduce(1, *))
            for d in 3..<9 { for h in 3..<9 { for w in (3 + offset)..<(9 + offset) { mask[(d * 12 + h) * 16 + w] = true } } }
            return mask
        }
        let distance = hausdorff95(cube(offset: 0), cube(offset: 2), extent: extent, spacing: [1, 1, 1.5])
        #expect(abs(distance - 3) < 1e-9)
        #expect(hausdorff95(cube(offset: 0), cube(offset: 0), extent: extent, spacing: [1, 1, 1]) == 0)
        #expect(hausdorff95(cube(offset: 0), [Bool](repeating: false, count: extent.reduce(1, *)), extent: extent, spacing: [1, 1, 1]) == .infinity)
    }

    @Test func shortestDistancesBetweenBoxes() {
        // A 2 x 2 x 2 box at w 2-3 and a 3 x 3 x 3 box at w 7-9 share rows. The gap runs along
        // w from w 3 to w 7, which is 4 voxels of 1.5 mm.
        let extent = [6, 6, 12]
        func box(_ d: Range<Int>, _ h: Range<Int>, _ w: Range<Int>) -> [Int] {
            d.flatMap { d in h.flatMap { h in w.map { w in (d * 6 + h) * 12 + w } } }
        }
        var mask = [Bool](repeating: false, count: extent.reduce(1, *))
        for index in box(1..<4, 1..<4, 7..<10) { mask[index] = true }
        // One voxel diagonal to the box's corner at (3, 3, 9), one step along every axis.
        let diagonal = (4 * 6 + 4) * 12 + 10
        let apart = shortestDistances(from: [box(1..<3, 1..<3, 2..<4), [diagonal]], to: mask, extent: extent, spacing: [2, 1, 1.5])
        #expect(abs(apart[0] - 6) < 1e-9)
        #expect(abs(apart[1] - (4 + 1 + 2.25).squareRoot()) < 1e-9)
        let touching = shortestDistances(from: [box(3..<5, 3..<5, 9..<11), []], to: mask, extent: extent, spacing: [1, 1, 1])
        #expect(touching[0] == 0)
        #expect(touching[1] == .infinity)
    }

    @Test func detectionMatchesOneToOne() {
        // Truth: lesions A {1,2,3} and B {10,11}; predictions: P1 overlaps A, P2 overlaps A less,
        // P3 hits nothing. One match (P1-A), two false positives, one missed lesion (B).
        let counts = detectionCounts(predicted: [[1, 2], [3, 4], [20]], truth: [[1, 2, 3], [10, 11]])
        #expect(counts == DetectionCounts(truePositives: 1, falsePositives: 2, falseNegatives: 1))
        #expect(abs(counts.precision - 1.0 / 3) < 1e-12)
        #expect(abs(counts.recall - 0.5) < 1e-12)
        #expect(abs(counts.f1 - 0.4) < 1e-12)
        let matches = matchDetections(predicted: [[1, 2], [3, 4], [20]], truth: [[1, 2, 3], [10, 11]])
        #expect(matches.predicted == [0])
        #expect(matches.truth == [0])
    }

    @Test func aucFromSmallTable() {
        // Positives 0.9, 0.6, 0.4; negatives 0.7, 0.4, 0.2. Pairs won: 0.9 beats 3, 0.6 beats 2,
        // 0.4 beats 1 and ties 1 (half): 6.5 of 9.
        let auc = areaUnderCurve(scores: [0.9, 0.6, 0.4, 0.7, 0.4, 0.2], positives: [true, true, true, false, false, false])
        #expect(abs((auc ?? 0) - 6.5 / 9) < 1e-12)
        #expect(areaUnderCurve(scores: [0.5], positives: [true]) == nil)
    }

    @Test func macroF1OverClasses() {
        // Class 0: tp 2, fp 1, fn 0 -> 0.8; class 1: tp 1, fp 0, fn 1 -> 2/3; accuracy 3/4.
        let scores = classificationScores(predicted: [0, 0, 0, 1], truth: [0, 0, 1, 1])
        #expect(abs(scores.accuracy - 0.75) < 1e-12)
        #expect(abs(scores.macroF1 - (0.8 + 2.0 / 3) / 2) < 1e-12)
    }
}

@Suite struct EvaluationTests {
    @Test func reportCountsEveryTrueLesion() {
        let configuration = ModelConfiguration(channels: [4, 8, 8, 8], heads: 2, characterisationHidden: 8, spacing: [12, 12, 15])
        let report = STDNetModel.random(configuration, seed: 1).evaluate(seed: 77, patients: 1, motionMillimetres: 0, window: [8, 16, 16])
        let study = report.studies[0]
        #expect(report.studies.count == 1)
        #expect((0...1).contains(study.liverDice))
        #expect((0...1).contains(study.lesionDice))
        // Every true lesion is either found or missed.
        let detection = study.detection
        #expect(detection.truePositives + detection.falseNegatives >= study.detectionAtLeast10mm.truePositives + study.detectionAtLeast10mm.falseNegatives)
        #expect(detection.truePositives + detection.falseNegatives > 0, "the phantom patient has no lesion on this grid")
        // One outcome per true lesion, and the found ones are the true positives.
        #expect(study.lesions.count == detection.truePositives + detection.falseNegatives)
        #expect(study.lesions.filter(\.found).count == detection.truePositives)
        #expect(study.lesions.allSatisfy { (0...1).contains($0.maximumLesionProbability) })
        // One entry per false positive, each no smaller than a reported lesion.
        #expect(study.falseLesions.count == detection.falsePositives)
        #expect(study.falseLesions.allSatisfy { $0.volumeMillilitres >= LesionComponent.minimumReportedMillilitres })
        #expect(study.falseLesions.allSatisfy { (0...1).contains($0.shareInsideTrueLiver) })
        // The summaries by diameter and by place count every lesion once.
        #expect(report.foundByDiameter.map(\.total).reduce(0, +) == study.lesions.count)
        #expect(report.foundByDiameter.map(\.found).reduce(0, +) == detection.truePositives)
        let places = report.falseLesionPlaces
        #expect(places.overlappingTrueLesion + places.elsewhereInLiver + places.outsideLiver == detection.falsePositives)
    }
}
