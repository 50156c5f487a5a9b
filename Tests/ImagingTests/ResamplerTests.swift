// Resampling checked against values worked out by hand: trilinear interpolation reproduces any
// function linear in patient coordinates exactly, and nearest neighbour moves labels by whole voxels.
import Foundation
import Testing
import TestSupport
@testable import Imaging

struct ResamplerTests {
    /// A linear function of LPS position, in HU.
    static func linear(_ point: Vector3) -> Double {
        3 * point.x - 2 * point.y + 0.5 * point.z + 10
    }

    static func rotation(about axis: Vector3, degrees: Double) -> Matrix3 {
        let u = axis / length(axis)
        let angle = degrees * Double.pi / 180
        let (c, s) = (cos(angle), sin(angle))
        return Matrix3(rows:
            Vector3(c + u.x * u.x * (1 - c), u.x * u.y * (1 - c) - u.z * s, u.x * u.z * (1 - c) + u.y * s),
            Vector3(u.y * u.x * (1 - c) + u.z * s, c + u.y * u.y * (1 - c), u.y * u.z * (1 - c) - u.x * s),
            Vector3(u.z * u.x * (1 - c) - u.y * s, u.z * u.y * (1 - c) + u.x * s, c + u.z * u.z * (1 - c)))
    }

    @Test func trilinearReproducesLinearFunction() {
        let sourceGrid = Geometry(size: VolumeSize(20, 18, 16), spacing: Vector3(1.5, 1.2, 2.0), origin: Vector3(-10, -8, -12),
                                  direction: Self.rotation(about: Vector3(1, 2, 3), degrees: 25))
        var source = Volume(geometry: sourceGrid, repeating: Float(0))
        for k in 0..<16 { for j in 0..<18 { for i in 0..<20 {
            source[i, j, k] = Float(Self.linear(sourceGrid.world(atIndex: Vector3(Double(i), Double(j), Double(k)))))
        } } }
        // A smaller left-handed target grid rotated the other way, inside the source.
        var direction = Self.rotation(about: Vector3(-2, 1, 1), degrees: 40)
        direction.columns[2] = -direction.columns[2]
        let centre = sourceGrid.world(atIndex: Vector3(9.5, 8.5, 7.5))
        let targetGrid = Geometry(size: VolumeSize(6, 5, 4), spacing: Vector3(1.1, 0.9, 1.3), origin: centre - direction * Vector3(3, 2, -2), direction: direction)

        let result = Resampler.resample(source, onto: targetGrid, outsideValue: -1000)
        var maximumError = 0.0
        for k in 0..<4 { for j in 0..<5 { for i in 0..<6 {
            let expected = Self.linear(targetGrid.world(atIndex: Vector3(Double(i), Double(j), Double(k))))
            maximumError = max(maximumError, abs(Double(result[i, j, k]) - expected))
        } } }
        #expect(maximumError < 1e-3)
    }

    @Test func sameGridCopiesVoxels() {
        let grid = NIfTIWriterTests.obliqueGeometry
        let image = Volume(geometry: grid, voxels: (0..<grid.voxelCount).map { Float($0) * 0.5 })
        #expect(Resampler.resample(image, onto: grid).voxels == image.voxels)
    }

    @Test func outsidePointsTakeOutsideValue() {
        let grid = Geometry(size: VolumeSize(4, 4, 4), spacing: Vector3(1, 1, 1))
        let image = Volume(geometry: grid, repeating: Float(7))
        var shifted = grid
        shifted.origin = Vector3(2, 0, 0)
        let result = Resampler.resample(image, onto: shifted, outsideValue: -1024)
        #expect(result[1, 0, 0] == 7)
        #expect(result[2, 0, 0] == -1024)
    }

    @Test func nearestLabelsFollowFlippedGrid() {
        // Target: same points as the source, with i reversed. Voxel i of the target is source voxel 4 - i.
        let source = Geometry(size: VolumeSize(5, 3, 2), spacing: Vector3(0.8, 1, 3), origin: Vector3(10, 20, 30))
        var labels = Volume(geometry: source, repeating: UInt8(0))
        for k in 0..<2 { for j in 0..<3 { for i in 0..<5 { labels[i, j, k] = UInt8(i + 5 * j + 15 * k) } } }
        let target = Geometry(size: source.size, spacing: source.spacing, origin: Vector3(10 + 4 * 0.8, 20, 30),
                              direction: Matrix3(columns: Vector3(-1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, 1)))
        let result = Resampler.resampleLabels(labels, onto: target)
        for k in 0..<2 { for j in 0..<3 { for i in 0..<5 { #expect(result[i, j, k] == labels[4 - i, j, k]) } } }
    }

    @Test func trilinearMatchesSimpleITK() throws {
        guard pythonHasModule("SimpleITK") else { return }  // interoperability check skipped without SimpleITK
        let sourceGrid = Geometry(size: VolumeSize(12, 10, 8), spacing: Vector3(1.5, 1.2, 2.0), origin: Vector3(-10, -8, -12),
                                  direction: Self.rotation(about: Vector3(1, 2, 3), degrees: 25))
        // A non-linear pattern, so interpolation weights matter.
        let source = Volume(geometry: sourceGrid, voxels: (0..<sourceGrid.voxelCount).map { Float(($0 * 7919) % 1000) - 500 })
        var direction = Self.rotation(about: Vector3(-2, 1, 1), degrees: 40)
        direction.columns[2] = -direction.columns[2]
        let centre = sourceGrid.world(atIndex: Vector3(5.5, 4.5, 3.5))
        let target = Geometry(size: VolumeSize(5, 4, 3), spacing: Vector3(1.1, 0.9, 1.3), origin: centre - direction * Vector3(2, 1.5, -1), direction: direction)

        let folder = try makeTemporaryFolder("resample-simpleitk")
        let sourcePath = folder.appendingPathComponent("source.nii").path
        let resultPath = folder.appendingPathComponent("result.nii").path
        try NIfTIWriter.write(source, to: sourcePath)
        let matrix = (0..<3).flatMap { row in (0..<3).map { column in target.direction[row, column] } }
        let script = """
        import sys, SimpleITK as sitk
        image = sitk.ReadImage(sys.argv[1])
        values = [float(v) for v in sys.argv[3:]]
        reference = sitk.Image(5, 4, 3, sitk.sitkFloat32)
        reference.SetOrigin(values[0:3]); reference.SetSpacing(values[3:6]); reference.SetDirection(values[6:15])
        sitk.WriteImage(sitk.Resample(image, reference, sitk.Transform(), sitk.sitkLinear, -9999.0), sys.argv[2])
        """
        let numbers = [target.origin.x, target.origin.y, target.origin.z, target.spacing.x, target.spacing.y, target.spacing.z] + matrix
        try runPython(script, [sourcePath, resultPath] + numbers.map { String($0) })

        let expected = try NIfTIImage(contentsOf: resultPath).volume()
        let result = Resampler.resample(source, onto: target, outsideValue: -9999)
        #expect(expected.geometry.isSameGrid(as: target, tolerance: 1e-3))
        var maximumDifference: Float = 0
        for index in 0..<target.voxelCount { maximumDifference = max(maximumDifference, abs(result.voxels[index] - expected.voxels[index])) }
        #expect(result.voxels.contains(-9999) == false)
        #expect(maximumDifference < 1e-2)
    }
}
