import Foundation
import Imaging
import Lesions
import Phantom
import Testing

/// Lesion tracking on phantom patients followed over four studies, repositioned each time.
@Suite struct TrackingOnPhantomTests {
    @Test func tracksMatchGroundTruth() throws {
        let options = PhantomOptions(size: VolumeSize(72, 56, 30), spacing: Vector3(4, 4, 5), lesionCount: 3...5)
        var assigned = 0
        var correct = 0

        for number in 1...3 {
            let patient = PhantomPatient(seed: 31, number: number, options: options)
            var previous: (lesions: [TrackedLesion], liver: [Vector3])?
            var nextTrack = 1000
            for timepoint in 0..<4 {
                let maps = patient.renderLabelMaps(timepoint: timepoint)
                let liver = liverSurfacePoints(maps.labels, limit: 1500)
                let components = connectedLesions(in: maps.labels, minimumVolumeMillilitres: 0.2)
                // Ground truth: the lesion ID most of the component's voxels carry.
                let truths = components.map { component -> Int in
                    let counts = Dictionary(grouping: component.voxels.map { maps.lesionInstances.voxels[$0] }, by: { $0 }).mapValues(\.count)
                    return Int(counts.max { $0.value < $1.value }!.key)
                }
                let measured = components.map { measure($0, on: maps.labels.geometry) }
                let current = measured.map { NewLesion(centroid: Vector3($0.centroid[0], $0.centroid[1], $0.centroid[2]),
                                                       maximumDiameterMillimetres: $0.maximumDiameterMillimetres) }

                var tracks: [Int]
                if let previous {
                    let transform = alignRigidly(moving: liver, onto: previous.liver)
                    let assignment = assignTracks(previous: previous.lesions, current: current, transform: transform, firstNewTrack: nextTrack)
                    tracks = assignment.tracks
                    nextTrack += assignment.newTracks.count
                    // A lesion seen before must keep its ground-truth ID as its track.
                    let known = Set(previous.lesions.map(\.track))
                    for (track, truth) in zip(tracks, truths) where known.contains(truth) {
                        assigned += 1
                        if track == truth { correct += 1 }
                    }
                    // A lesion seen for the first time gets a track ID of its own, then keeps it.
                    for (index, truth) in truths.enumerated() where !known.contains(truth) { tracks[index] = truth }
                } else {
                    tracks = truths
                }
                previous = (zip(tracks, measured).map { TrackedLesion(track: $0, centroid: Vector3($1.centroid[0], $1.centroid[1], $1.centroid[2]),
                                                                       maximumDiameterMillimetres: $1.maximumDiameterMillimetres) }, liver)
            }
        }
        #expect(assigned >= 15, "only \(assigned) lesions followed")
        #expect(Double(correct) >= 0.95 * Double(assigned), "\(correct) of \(assigned) lesions kept their ground-truth track")
    }
}
