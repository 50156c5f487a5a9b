import Foundation
import Imaging
import Lesions
import Phantom
import Testing

/// Lesion tracking on phantom patients followed over four studies, repositioned each time.
@Suite struct TrackingOnPhantomTests {
    @Test func tracksMatchGroundTruth() throws {
        let options = PhantomOptions(size: VolumeSize(72, 56, 30), spacing: Vector3(4, 4, 5), lesionCount: 3...5)
        let features = EnhancementFeatures(arterialEnhancement: .nonrim, nonperipheralWashout: true, enhancingCapsule: false)
        var followed = 0
        var correct = 0

        for number in 1...3 {
            let patient = PhantomPatient(seed: 31, number: number, options: options)
            var studies: [AnalysedStudy] = []
            var truthOfLesion: [Int64: Int] = [:]
            for timepoint in 0..<4 {
                let maps = patient.renderLabelMaps(timepoint: timepoint)
                let components = connectedLesions(in: maps.labels, minimumVolumeMillilitres: 0.2)
                let lesions = components.enumerated().map { index, component in
                    // Ground truth: the lesion ID most of the component's voxels carry.
                    let counts = Dictionary(grouping: component.voxels.map { maps.lesionInstances.voxels[$0] }, by: { $0 }).mapValues(\.count)
                    let id = Int64(timepoint * 100 + index)
                    truthOfLesion[id] = Int(counts.max { $0.value < $1.value }!.key)
                    let measured = measure(component, on: maps.labels.geometry)
                    return AnalysedLesion(id: id, centroid: Vector3(measured.centroid[0], measured.centroid[1], measured.centroid[2]),
                                          maximumDiameterMillimetres: measured.maximumDiameterMillimetres,
                                          longestAxialDiameterMillimetres: measured.longestAxialDiameterMillimetres,
                                          viableAxialDiameterMillimetres: measured.longestAxialDiameterMillimetres, features: features)
                }
                studies.append(AnalysedStudy(study: Int64(timepoint), date: nil, liverSurface: liverSurfacePoints(maps.labels, limit: 1500),
                                             lesions: lesions))
            }

            // A track stands for the ground-truth lesion it first held; a lesion seen before must
            // be on the track that first held it. Outcomes come in study order.
            var truthOfTrack: [Int: Int] = [:]
            var seen = Set<Int>()
            for outcome in trackPatient(studies).lesions {
                let truth = truthOfLesion[outcome.lesion]!
                if seen.contains(truth) {
                    followed += 1
                    if truthOfTrack[outcome.track] == truth { correct += 1 }
                }
                seen.insert(truth)
                if truthOfTrack[outcome.track] == nil { truthOfTrack[outcome.track] = truth }
            }
        }
        #expect(followed >= 15, "only \(followed) lesions followed")
        #expect(Double(correct) >= 0.95 * Double(followed), "\(correct) of \(followed) lesions kept their ground-truth track")
    }
}
