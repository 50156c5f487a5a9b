import Foundation
import Imaging
import NeuralEngine
import STDNet
import Testing

@Suite struct TrainingDataTests {
    @Test func scheduleWarmsUpThenDecays() {
        let schedule = LearningRateSchedule(peak: 0.01, warmupSteps: 10, totalSteps: 110)
        #expect(abs(schedule.rate(atStep: 0) - 0.001) < 1e-7)
        #expect(abs(schedule.rate(atStep: 9) - 0.01) < 1e-7)
        // Halfway through the decay the cosine is at half the peak.
        #expect(abs(schedule.rate(atStep: 60) - 0.005) < 1e-6)
        #expect(schedule.rate(atStep: 110) < 1e-9)
    }

    @Test func windowsCentreOnLesions() {
        let options = PatchOptions(window: [8, 16, 16], spacing: Vector3(6, 6, 10), motionMillimetres: 5, windowsPerStudy: 3,
                                   lesionFraction: 1, dropPhaseProbability: 0)
        var sampler = PhantomPatchSampler(options: options, seed: 3)
        var windowsWithLesion = 0
        for _ in 0..<6 {
            let window = sampler.next()
            #expect(window.phases.count == 4)
            #expect(window.phases.allSatisfy { $0?.shape == [1, 8, 16, 16, 1] })
            #expect(window.labels.count == 8 * 16 * 16)
            #expect(window.labels.allSatisfy { $0 <= 2 })
            if window.labels.contains(2) { windowsWithLesion += 1 }
            // Normalised intensities stay near [-1, 1] after the ±10% scale and ±0.1 shift.
            #expect(window.phases.compactMap { $0 }.allSatisfy { $0.scalars.allSatisfy { abs($0) <= 1.25 } })
        }
        #expect(windowsWithLesion >= 5, "only \(windowsWithLesion) of 6 lesion-centred windows hold lesion voxels")
    }
}
