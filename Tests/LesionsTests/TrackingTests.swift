import Foundation
import Imaging
import Lesions
import Testing

@Suite struct TrackingTests {
    /// A rotation of `degrees` about the head-foot axis and a shift, as a change of patient position.
    static func reposition(degrees: Double, shift: Vector3) -> RigidTransform {
        let angle = degrees * .pi / 180
        return RigidTransform(rotation: Matrix3(rows: Vector3(cos(angle), -sin(angle), 0), Vector3(sin(angle), cos(angle), 0), Vector3(0, 0, 1)),
                              translation: shift)
    }

    /// A liver-like shape: an ellipsoid with a lobe, labelled on a 3 mm grid.
    static func liver(moved transform: RigidTransform) -> Volume<UInt8> {
        let geometry = Geometry(size: VolumeSize(54, 47, 40), spacing: Vector3(3, 3, 3), origin: Vector3(-81, -70, -60))
        var labels = Volume<UInt8>(geometry: geometry, repeating: SegmentationLabel.background)
        guard let inverse = transform.rotation.inverse else { return labels }
        for k in 0..<geometry.size.z {
            for j in 0..<geometry.size.y {
                for i in 0..<geometry.size.x {
                    // Sample the shape in its own frame: undo the repositioning.
                    let point = inverse * (geometry.world(atIndex: Vector3(Double(i), Double(j), Double(k))) - transform.translation)
                    let body = pow(point.x / 60, 2) + pow(point.y / 40, 2) + pow(point.z / 35, 2) <= 1
                    let lobe = pow((point.x + 35) / 25, 2) + pow((point.y - 30) / 20, 2) + pow((point.z + 10) / 20, 2) <= 1
                    if body || lobe { labels[i, j, k] = SegmentationLabel.liver }
                }
            }
        }
        return labels
    }

    @Test func surfacePointsStayWithinLimit() {
        let liver = Self.liver(moved: .identity)
        let all = liverSurfacePoints(liver, limit: Int.max / 2)
        // Limits from just under the surface's size to a small fraction of it.
        for limit in [all.count - 1, all.count * 2 / 3, all.count / 2 + 1, 100] {
            let points = liverSurfacePoints(liver, limit: limit)
            #expect(points.count <= limit, "\(points.count) points returned for a limit of \(limit)")
            #expect(points.count > limit / 2, "\(points.count) points returned for a limit of \(limit)")
        }
    }

    /// A later scan that covers less of the liver, as one that starts lower: the missing part
    /// must not rotate the fit.
    @Test func liverAlignmentToleratesTruncation() {
        let movement = Self.reposition(degrees: 3, shift: Vector3(5, -4, 10))
        var later = Self.liver(moved: movement)
        let size = later.size
        for k in 0..<size.z {
            for j in 0..<size.y {
                for i in 0..<size.x {
                    if k < 16 { later[i, j, k] = SegmentationLabel.background }
                    // A false region along one side, joined to the liver, as segmentations of the body wall give.
                    if k >= 16 && k < 34 && i >= 40 && i < 50 && j >= 2 && j < 45 { later[i, j, k] = SegmentationLabel.liver }
                }
            }
        }
        let transform = alignRigidly(moving: liverSurfacePoints(later), onto: liverSurfacePoints(Self.liver(moved: .identity)))
        // Closest-point matching on all points follows the surface that one scan lacks or the
        // segmentation added and lands about 20-30 mm off here. Track assignment needs a lesion within
        // its 10 mm gate.
        for original in [Vector3(30, 10, 5), Vector3(-40, 25, -10), Vector3(0, -20, 20)] {
            let error = length(transform.apply(movement.apply(original)) - original)
            #expect(error < 8, "point \(original) lands \(error) mm away")
        }
    }

    @Test func liverAlignmentRecoversRepositioning() {
        let movement = Self.reposition(degrees: 8, shift: Vector3(12, -9, 15))
        // With 4,000 points more of them coincide exactly on the two grids. Only the distance
        // floor keeps a fit to such a subset from scoring best.
        for limit in [2000, 4000] {
            let earlier = liverSurfacePoints(Self.liver(moved: .identity), limit: limit)
            let later = liverSurfacePoints(Self.liver(moved: movement), limit: limit)
            let transform = alignRigidly(moving: later, onto: earlier)

            // A point of the later study maps back to where it was in the earlier one.
            for original in [Vector3(30, 10, 5), Vector3(-40, 25, -10), Vector3(0, -20, 20)] {
                let error = length(transform.apply(movement.apply(original)) - original)
                #expect(error < 2, "\(limit) points: point \(original) lands \(error) mm away")
            }
        }
    }

    @Test func lesionsKeepTracksAcrossRepositioning() {
        let movement = Self.reposition(degrees: 6, shift: Vector3(15, 8, -20))
        let previous = [
            TrackedLesion(track: 1, centroid: Vector3(20, 10, 0), maximumDiameterMillimetres: 25),
            TrackedLesion(track: 2, centroid: Vector3(-30, 15, 12), maximumDiameterMillimetres: 12),
            TrackedLesion(track: 3, centroid: Vector3(5, -25, -15), maximumDiameterMillimetres: 8),
            TrackedLesion(track: 4, centroid: Vector3(40, -5, 20), maximumDiameterMillimetres: 15),
        ]
        // Track 3 vanished; a new lesion appeared; the others moved with the patient, 2 mm jitter.
        let current = [
            NewLesion(centroid: movement.apply(Vector3(-31, 16, 11)), maximumDiameterMillimetres: 14),
            NewLesion(centroid: movement.apply(Vector3(-10, 30, -30)), maximumDiameterMillimetres: 9),
            NewLesion(centroid: movement.apply(Vector3(21, 9, 1)), maximumDiameterMillimetres: 30),
            NewLesion(centroid: movement.apply(Vector3(41, -4, 19)), maximumDiameterMillimetres: 16),
        ]
        let inverse = RigidTransform(rotation: movement.rotation.inverse!, translation: movement.rotation.inverse! * (Vector3.zero - movement.translation))
        let assignment = assignTracks(previous: previous, current: current, transform: inverse, firstNewTrack: 5)

        #expect(assignment.tracks == [2, 5, 1, 4])
        #expect(assignment.newTracks == [5])
        #expect(assignment.vanishedTracks == [3])
        #expect(assignment.merges.isEmpty)
        #expect(assignment.splits.isEmpty)
    }

    @Test func mergeAndSplitAreRecorded() {
        let previous = [
            TrackedLesion(track: 1, centroid: Vector3(0, 0, 0), maximumDiameterMillimetres: 10),
            TrackedLesion(track: 2, centroid: Vector3(9, 0, 0), maximumDiameterMillimetres: 10),
            TrackedLesion(track: 3, centroid: Vector3(60, 0, 0), maximumDiameterMillimetres: 30),
        ]
        // Tracks 1 and 2 grew into one lesion; track 3 split in two parts 8 mm either side.
        let current = [
            NewLesion(centroid: Vector3(4, 0, 0), maximumDiameterMillimetres: 22),
            NewLesion(centroid: Vector3(52, 0, 0), maximumDiameterMillimetres: 14),
            NewLesion(centroid: Vector3(69, 0, 0), maximumDiameterMillimetres: 12),
        ]
        let assignment = assignTracks(previous: previous, current: current, transform: .identity, firstNewTrack: 10)
        #expect(assignment.tracks == [1, 3, 10])
        #expect(assignment.merges == [MergeOrSplit(into: 1, other: 2)])
        #expect(assignment.splits == [MergeOrSplit(into: 3, other: 10)])
        #expect(assignment.vanishedTracks == [2])
    }
}
