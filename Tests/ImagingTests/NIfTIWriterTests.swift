// Writing a volume and reading it back gives the same voxels exactly and the same grid.
import Foundation
import Testing
import TestSupport
@testable import Imaging

struct NIfTIWriterTests {
    /// An oblique, left-handed grid: rotation about z by 30 degrees, then the k axis reversed.
    static let obliqueGeometry: Geometry = {
        let angle = Double.pi / 6
        let direction = Matrix3(columns: Vector3(cos(angle), sin(angle), 0), Vector3(-sin(angle), cos(angle), 0), Vector3(0, 0, -1))
        return Geometry(size: VolumeSize(5, 4, 3), spacing: Vector3(0.7, 0.8, 2.5), origin: Vector3(-12.5, 30.25, 101), direction: direction)
    }()

    static func assertSameGrid(_ read: Geometry, _ written: Geometry) {
        #expect(read.size == written.size)
        for axis in 0..<3 {
            #expect(abs(read.spacing[axis] - written.spacing[axis]) < 1e-5)
            #expect(abs(read.origin[axis] - written.origin[axis]) < 1e-4)
            for row in 0..<3 {
                #expect(abs(read.direction[row, axis] - written.direction[row, axis]) < 1e-6)
            }
        }
    }

    @Test("float round trip is exact", arguments: ["a.nii", "a.nii.gz", "v2.nii", "v2.nii.gz"])
    func floatRoundTrip(name: String) throws {
        let folder = try makeTemporaryFolder("nifti-write")
        let path = folder.appendingPathComponent(name).path
        let voxels = (0..<60).map { Float($0) * 1.25 - 1024.5 }
        let volume = Volume(geometry: Self.obliqueGeometry, voxels: voxels)
        try NIfTIWriter.write(volume, to: path, version: name.hasPrefix("v2") ? 2 : 1)

        let image = try NIfTIImage(contentsOf: path)
        #expect(image.header.version == (name.hasPrefix("v2") ? 2 : 1))
        #expect(image.header.datatype == .float32)
        #expect(try image.volume().voxels == voxels)
        Self.assertSameGrid(image.geometry, volume.geometry)
    }

    @Test func qformAloneGivesTheSameGrid() throws {
        let folder = try makeTemporaryFolder("nifti-qform")
        let path = folder.appendingPathComponent("q.nii").path
        try NIfTIWriter.write(Volume(geometry: Self.obliqueGeometry, repeating: Float(0)), to: path)
        var image = try NIfTIImage(contentsOf: path)
        image.header.sformCode = 0
        Self.assertSameGrid(image.geometry, Self.obliqueGeometry)
    }

    @Test func labelRoundTripIsExact() throws {
        let folder = try makeTemporaryFolder("nifti-labels")
        let path = folder.appendingPathComponent("labels.nii.gz").path
        let voxels = (0..<60).map { UInt16($0 * 1000 % 65536) }
        try NIfTIWriter.write(Volume(geometry: Self.obliqueGeometry, voxels: voxels), to: path)
        let image = try NIfTIImage(contentsOf: path)
        #expect(image.header.datatype == .uint16)
        #expect(try image.labels(as: UInt16.self).voxels == voxels)
    }

    @Test func unwritablePathNamesTheReason() throws {
        let folder = try makeTemporaryFolder("nifti-unwritable")
        let path = folder.appendingPathComponent("missing/labels.nii.gz").path
        let volume = Volume(geometry: Self.obliqueGeometry, voxels: [UInt8](repeating: 1, count: 60))
        let error = #expect(throws: NIfTIError.self) {
            try NIfTIWriter.write(volume, to: path)
        }
        #expect(error?.description == "\(path): cannot create the file: No such file or directory")
    }

    @Test func nibabelReadsWrittenAffine() throws {
        guard pythonHasModule("nibabel") else { return }  // interoperability check skipped without nibabel

        let folder = try makeTemporaryFolder("nifti-nibabel")
        let path = folder.appendingPathComponent("n.nii.gz").path
        try NIfTIWriter.write(Volume(geometry: Self.obliqueGeometry, repeating: Float(0)), to: path)
        let script = "import nibabel as n, sys; i = n.load(sys.argv[1]); print(' '.join(repr(float(v)) for v in i.affine[:3].ravel())); print(' '.join(repr(float(v)) for v in i.get_qform()[:3].ravel()))"
        let output = try runPython(script, [path])
        let expected = Self.obliqueGeometry.rasAffine.flatMap { $0 }
        for line in output.split(separator: "\n") {
            let values = line.split(separator: " ").compactMap { Double($0) }
            #expect(values.count == 12)
            for (value, reference) in zip(values, expected) {
                #expect(abs(value - reference) < 1e-4)
            }
        }
    }
}

