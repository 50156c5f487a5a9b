import Foundation
import Imaging
import NeuralEngine
import Phantom
@testable import STDNet
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

    @Test func centresFollowLesionCentring() throws {
        let spacing = Vector3(6, 6, 10)
        let patient = PhantomPatient(seed: 3, number: 1, options: PhantomOptions(size: VolumeSize(60, 44, 18), spacing: spacing, lesionCount: 4...5))
        let study = patient.renderStudy(timepoint: 0)
        let instances = study.lesionInstances.voxels
        var volumes: [UInt16: Int] = [:]
        for (index, label) in study.labels.voxels.enumerated() where label == 2 { volumes[instances[index], default: 0] += 1 }
        // The two rules expect different counts only when the lesions differ in size.
        try #require(volumes.count >= 2 && volumes.values.max()! >= 4 * volumes.values.min()!, "the study needs lesions of different sizes: \(volumes)")
        let lesionVoxelCount = volumes.values.reduce(0, +)

        let draws = 300
        for centring in LesionCentring.allCases {
            var sampler = PhantomPatchSampler(options: PatchOptions(spacing: spacing, lesionFraction: 1, lesionCentring: centring), seed: 5)
            var centres: [UInt16: Int] = [:]
            for _ in 0..<draws {
                let centre = sampler.chooseCentre(in: study)
                #expect(study.labels.voxels[centre] == 2)
                centres[instances[centre], default: 0] += 1
            }
            for (lesion, volume) in volumes {
                let expected = centring == .lesion
                    ? Double(draws) / Double(volumes.count)
                    : Double(draws) * Double(volume) / Double(lesionVoxelCount)
                // Four standard deviations of the binomial count.
                let tolerance = 4 * (expected * (1 - expected / Double(draws))).squareRoot() + 1
                let count = Double(centres[lesion] ?? 0)
                #expect(abs(count - expected) <= tolerance, "\(centring): lesion \(lesion) of \(volume) voxels was the centre \(count) times, expected about \(expected)")
            }
        }
    }
}
