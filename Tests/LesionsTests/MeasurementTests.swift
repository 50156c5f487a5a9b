import Foundation
import Imaging
import Lesions
import Testing

@Suite struct MeasurementTests {
    /// An ellipsoid in patient space: centre, semi-axes in mm, and the in-plane rotation (degrees
    /// about the head-foot axis) of its first two axes; the third axis is head-foot.
    struct Ellipsoid {
        let centre: Vector3
        let semiAxes: Vector3
        let rotationDegrees: Double

        func contains(_ point: Vector3) -> Bool {
            let angle = rotationDegrees * .pi / 180
            let offset = point - centre
            let u = offset.x * cos(angle) + offset.y * sin(angle)
            let v = -offset.x * sin(angle) + offset.y * cos(angle)
            let w = offset.z
            return (u * u) / (semiAxes.x * semiAxes.x) + (v * v) / (semiAxes.y * semiAxes.y) + (w * w) / (semiAxes.z * semiAxes.z) <= 1
        }
    }

    /// Labels every voxel whose centre lies inside the ellipsoid.
    func labelMap(_ ellipsoid: Ellipsoid, geometry: Geometry) -> Volume<UInt8> {
        var volume = Volume<UInt8>(geometry: geometry, repeating: SegmentationLabel.liver)
        for k in 0..<geometry.size.z {
            for j in 0..<geometry.size.y {
                for i in 0..<geometry.size.x where ellipsoid.contains(geometry.world(atIndex: Vector3(Double(i), Double(j), Double(k)))) {
                    volume[i, j, k] = SegmentationLabel.lesion
                }
            }
        }
        return volume
    }

    static let cases: [(String, Geometry, Ellipsoid)] = [
        ("axis-aligned, anisotropic",
         Geometry(size: VolumeSize(48, 48, 20), spacing: Vector3(0.7, 0.9, 2.5), origin: Vector3(-16, -21, -24)),
         Ellipsoid(centre: Vector3(0.3, -0.4, 0.6), semiAxes: Vector3(12, 7, 9), rotationDegrees: 0)),
        ("ellipsoid rotated 35 degrees",
         Geometry(size: VolumeSize(56, 56, 24), spacing: Vector3(0.8, 0.8, 2.0), origin: Vector3(-22, -22, -23)),
         Ellipsoid(centre: Vector3(0.2, 0.1, 0.5), semiAxes: Vector3(15, 6, 10), rotationDegrees: 35)),
        ("grid rotated 20 degrees",
         Geometry(size: VolumeSize(56, 56, 24), spacing: Vector3(0.75, 0.75, 2.0), origin: Vector3(-16, -26, -23),
                  direction: Matrix3(columns: Vector3(cos(0.349), sin(0.349), 0), Vector3(-sin(0.349), cos(0.349), 0), Vector3(0, 0, 1))),
         Ellipsoid(centre: Vector3(0, 0, 0.4), semiAxes: Vector3(13, 8, 8), rotationDegrees: 70)),
    ]

    @Test(arguments: 0..<cases.count)
    func ellipsoidSizesWithinHalfVoxel(_ index: Int) throws {
        let (label, geometry, ellipsoid) = Self.cases[index]
        let lesions = connectedLesions(in: labelMap(ellipsoid, geometry: geometry))
        #expect(lesions.count == 1, "\(label)")
        let measured = measure(try #require(lesions.first), on: geometry)

        // Each diameter within half a voxel (the largest spacing in its plane, or in 3D).
        let halfInPlaneVoxel = max(geometry.spacing.x, geometry.spacing.y) / 2
        let halfVoxel = max(geometry.spacing.x, geometry.spacing.y, geometry.spacing.z) / 2
        let axes = ellipsoid.semiAxes
        #expect(abs(measured.longestAxialDiameterMillimetres - 2 * max(axes.x, axes.y)) <= halfInPlaneVoxel,
                "\(label): longest axial \(measured.longestAxialDiameterMillimetres) mm")
        #expect(abs(measured.perpendicularDiameterMillimetres - 2 * min(axes.x, axes.y)) <= halfInPlaneVoxel,
                "\(label): perpendicular \(measured.perpendicularDiameterMillimetres) mm")
        #expect(abs(measured.maximumDiameterMillimetres - 2 * max(axes.x, axes.y, axes.z)) <= halfVoxel,
                "\(label): maximum \(measured.maximumDiameterMillimetres) mm")

        // The true volume of the ellipsoid shrunk and grown by half a voxel brackets the measurement.
        let smallest = 4 / 3 * Double.pi * (axes.x - halfVoxel) * (axes.y - halfVoxel) * (axes.z - halfVoxel) / 1000
        let largest = 4 / 3 * Double.pi * (axes.x + halfVoxel) * (axes.y + halfVoxel) * (axes.z + halfVoxel) / 1000
        #expect(measured.volumeMillilitres >= smallest, "\(label): volume \(measured.volumeMillilitres) mL")
        #expect(measured.volumeMillilitres <= largest, "\(label): volume \(measured.volumeMillilitres) mL")
        for axis in 0..<3 {
            #expect(abs(measured.centroid[axis] - ellipsoid.centre[axis]) <= halfVoxel, "\(label): centroid \(measured.centroid)")
        }
    }

    @Test func maximumDiameterNeverBelowAxial() throws {
        // Flat lesions on the model's 3 x 3 x 5 mm grid, whose longest extent is in plane: the
        // maximum diameter in any direction includes the axial ones.
        let geometry = Geometry(size: VolumeSize(24, 24, 12), spacing: Vector3(3, 3, 5), origin: Vector3(-36, -36, -30))
        for (semiAxes, rotation) in [(Vector3(10, 6, 4), 0.0), (Vector3(12.5, 7, 5), 30), (Vector3(8, 8, 3), 10), (Vector3(15, 5, 6), 55)] {
            let ellipsoid = Ellipsoid(centre: Vector3(0.7, -0.4, 1.1), semiAxes: semiAxes, rotationDegrees: rotation)
            let measured = measure(try #require(connectedLesions(in: labelMap(ellipsoid, geometry: geometry)).first), on: geometry)
            #expect(measured.maximumDiameterMillimetres >= measured.longestAxialDiameterMillimetres,
                    "semi-axes \(semiAxes), rotation \(rotation): maximum \(measured.maximumDiameterMillimetres) mm, axial \(measured.longestAxialDiameterMillimetres) mm")
            // And it is still the ellipsoid's longest diameter, within the diagonal of one
            // in-plane voxel (4.2 mm) on this coarse grid.
            let trueDiameter = 2 * max(semiAxes.x, semiAxes.y, semiAxes.z)
            #expect(abs(measured.maximumDiameterMillimetres - trueDiameter) <= 3 * 2.0.squareRoot(),
                    "semi-axes \(semiAxes), rotation \(rotation): maximum \(measured.maximumDiameterMillimetres) mm, true \(trueDiameter) mm")
        }
    }

    @Test func tinyLesionsMeasureTheirVoxels() throws {
        // One voxel, and two voxels one above the other, of 3 x 3 x 5 mm: too small for the blur to
        // reach one half, so the outer edges of the voxels give the diameters.
        let geometry = Geometry(size: VolumeSize(9, 9, 9), spacing: Vector3(3, 3, 5))
        var labels = Volume<UInt8>(geometry: geometry, repeating: SegmentationLabel.liver)
        labels[4, 4, 4] = SegmentationLabel.lesion
        let single = measure(try #require(connectedLesions(in: labels, minimumVolumeMillilitres: 0).first), on: geometry)
        #expect(single.longestAxialDiameterMillimetres == 3)
        #expect(single.perpendicularDiameterMillimetres == 3)

        labels[4, 4, 5] = SegmentationLabel.lesion
        let pair = measure(try #require(connectedLesions(in: labels, minimumVolumeMillilitres: 0).first), on: geometry)
        #expect(pair.longestAxialDiameterMillimetres == 3)
        #expect(abs(pair.maximumDiameterMillimetres - 10) < 1e-9)
    }

    @Test func oneVoxelWideLesionIsOneVoxelAcross() throws {
        // Four voxels in a row of one 3 x 3 x 5 mm slice: 12 mm long and one voxel, 3 mm, across.
        // Blurred, the row crosses one half only near its middle, so the voxels' outer edges
        // give both diameters.
        let geometry = Geometry(size: VolumeSize(12, 9, 5), spacing: Vector3(3, 3, 5))
        var labels = Volume<UInt8>(geometry: geometry, repeating: SegmentationLabel.liver)
        for i in 4...7 { labels[i, 4, 2] = SegmentationLabel.lesion }
        let row = measure(try #require(connectedLesions(in: labels, minimumVolumeMillilitres: 0).first), on: geometry)
        #expect(abs(row.longestAxialDiameterMillimetres - 12) <= 1.5, "longest axial \(row.longestAxialDiameterMillimetres) mm")
        #expect(abs(row.perpendicularDiameterMillimetres - 3) < 1e-9, "perpendicular \(row.perpendicularDiameterMillimetres) mm")
    }

    @Test func componentsUseTwentySixConnectivity() {
        var labels = Volume<UInt8>(geometry: Geometry(size: VolumeSize(6, 6, 6), spacing: Vector3(1, 1, 1)), repeating: 0)
        // Two voxels touching only at a corner form one lesion; a far voxel is another.
        labels[1, 1, 1] = SegmentationLabel.lesion
        labels[2, 2, 2] = SegmentationLabel.lesion
        labels[5, 5, 5] = SegmentationLabel.lesion
        #expect(connectedLesions(in: labels, minimumVolumeMillilitres: 0).map(\.voxels.count) == [2, 1])
        // A minimum volume of 1.5 voxels (0.0015 mL at 1 mm spacing) drops the single voxel.
        #expect(connectedLesions(in: labels, minimumVolumeMillilitres: 0.0015).map(\.voxels.count) == [2])
    }
}
