// NIfTI fixtures read with the affines and values nibabel 5 reports for them.
import Foundation
import Testing
@testable import Imaging

struct NIfTIReaderTests {
    /// Voxel-to-RAS affines printed by nibabel 5 (`nib.load(path).affine`, first three rows).
    static let nibabelAffines: [(file: String, affine: [[Double]])] = [
        ("nifti/example4d.nii.gz", [
            [-2.0, 6.714715653593746e-19, 9.081024511081715e-18, 117.8551025390625],
            [-6.714715653593746e-19, 1.9737114906311035, -0.35552823543548584, -35.72294235229492],
            [8.25548088896093e-18, 0.3232076168060303, 2.171081781387329, -7.248798370361328]]),
        ("nifti/example_nifti2.nii.gz", [
            [-2.0, 6.714715653593746e-19, 9.081024511081715e-18, 117.8551025390625],
            [-6.714715653593746e-19, 1.9737114906311035, -0.35552823543548584, -35.72294235229492],
            [8.25548088896093e-18, 0.3232076168060303, 2.171081781387329, -7.248798370361328]]),
        ("nifti/anatomical.nii", [[-2, 0, 0, 32], [0, 2, 0, -40], [0, 0, 2, -16]]),
        ("nifti/functional.nii", [[-4, 0, 0, 32], [0, 4, 0, -40], [0, 0, 8, 0]]),
    ]

    @Test("affine matches nibabel", arguments: nibabelAffines.map(\.file))
    func affineMatchesNibabel(file: String) throws {
        let expected = try #require(Self.nibabelAffines.first { $0.file == file }).affine
        let image = try NIfTIImage(contentsOf: Fixtures.path(file))
        let affine = image.geometry.rasAffine
        for row in 0..<3 {
            for column in 0..<4 {
                #expect(abs(affine[row][column] - expected[row][column]) < 1e-5, "row \(row) column \(column)")
            }
        }
    }

    @Test func nifti2HeaderIsRead() throws {
        let image = try NIfTIImage(contentsOf: Fixtures.path("nifti/example_nifti2.nii.gz"))
        #expect(image.header.version == 2)
        #expect(image.header.dim[0...4] == [4, 32, 20, 12, 2])
        let volume = try image.volume(0)
        #expect(volume[1, 2, 3] == 367)  // nibabel: get_fdata()[1, 2, 3, 0]
        #expect(volume.voxels.reduce(0.0) { $0 + Double($1) } == 3461748)
    }

    @Test func bigEndianFileIsRead() throws {
        let image = try NIfTIImage(contentsOf: Fixtures.path("nifti/anatomical.nii"))
        #expect(image.header.isByteSwapped)
        let volume = try image.volume()
        #expect(volume[1, 2, 3] == 9798)
        #expect(volume.voxels.reduce(0.0) { $0 + Double($1) } == 284166082)
    }

    @Test func sclSlopeIsApplied() throws {
        let image = try NIfTIImage(contentsOf: Fixtures.path("nifti/functional.nii"))
        #expect(image.header.sclSlope != 1)
        let first = try image.volume(0)
        let last = try image.volume(19)
        // nibabel: get_fdata()[1, 2, 1, 0] and sums of volumes 0 and 19.
        #expect(abs(Double(first[1, 2, 1]) - 3524.096440434456) < 1e-3)
        #expect(abs(first.voxels.reduce(0.0) { $0 + Double($1) } - 3883746.552329719) < 1)
        #expect(abs(last.voxels.reduce(0.0) { $0 + Double($1) } - 3888072.273083091) < 1)
    }

    @Test func gzippedSecondVolumeIsRead() throws {
        let image = try NIfTIImage(contentsOf: Fixtures.path("nifti/example4d.nii.gz"))
        let second = try image.volume(1)
        #expect(second.voxels.reduce(0.0) { $0 + Double($1) } == 50990959)
        #expect(try image.volume(0)[60, 50, 10] == 470)
    }

    @Test func singularAffineIsRejected() throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("nifti/functional.nii"))))
        // Zero the first sform row (srow_x at offset 280, four float32), so the affine loses its x axis.
        for offset in 280..<296 { bytes[offset] = 0 }
        let folder = try makeTemporaryFolder("nifti-singular")
        let path = folder.appendingPathComponent("singular.nii").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: NIfTIError.self) { try NIfTIImage(contentsOf: path) }
        #expect(error.reason.contains("singular"))
    }

    /// The system's reason, here for a folder. A file without read permission gives "Permission
    /// denied" the same way, but it is untested because the tests run as root.
    @Test func unreadablePathNamesTheReason() throws {
        let folder = try makeTemporaryFolder("nifti-folder.nii")
        let error = try #require(throws: NIfTIError.self) { try NIfTIImage(contentsOf: folder.path) }
        #expect(error.description == "\(folder.path): cannot read the file: Is a directory")
    }

    @Test func truncatedFileNamesFileAndSize() throws {
        let folder = try makeTemporaryFolder("nifti-truncated")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("nifti/anatomical.nii")))
        let path = folder.appendingPathComponent("short.nii").path
        try bytes.prefix(2000).write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: NIfTIError.self) { try NIfTIImage(contentsOf: path) }
        #expect(error.description.contains(path))
        #expect(error.description.contains("truncated"))
    }
}
