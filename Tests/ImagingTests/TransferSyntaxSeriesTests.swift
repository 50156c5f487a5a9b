// The Siemens mosaic in nine transfer syntaxes matches dcm2niix's NIfTI voxel for voxel, on the
// same grid. The enhanced multi-frame CT fixture assembles with per-frame positions and rescale.
import Foundation
import Testing
@testable import Imaging

struct TransferSyntaxSeriesTests {
    static func assemble(_ path: String) throws -> AssembledSeries {
        let file = try DicomFile(contentsOf: path, stopBeforePixelData: true)
        let series = DicomSeries(attributes: SeriesAttributes(file.dataSet), slices: try ImageSlice.slices(of: file))
        return try SeriesAssembler.assemble(series)
    }

    /// Files 1-4 are uncompressed or RLE and have their own dcm2niix output. Files 5-9 (JPEG
    /// Lossless, JPEG-LS, JPEG 2000) contain the same pixels, so they are compared with file 1's.
    @Test("mosaic matches dcm2niix", arguments: 1...9)
    func mosaicMatchesDcm2niix(number: Int) throws {
        let assembled = try Self.assemble(Fixtures.path("transfer-syntaxes/In/\(number).dcm"))
        let referenceNumber = number <= 4 ? number : 1
        let reference = try NIfTIImage(contentsOf: Fixtures.path("transfer-syntaxes/Ref/\(referenceNumber).nii"))
        let expected = try reference.volume()
        let volume = assembled.volume

        #expect(volume.size == expected.size)
        for axis in 0..<3 {
            #expect(abs(volume.spacing[axis] - expected.spacing[axis]) < 1e-4)
        }
        // dcm2niix flips the row order, so compare voxel by voxel through world coordinates:
        // every voxel centre must land on a reference voxel centre holding the same value.
        var mismatches = 0
        var offGrid = 0
        for k in 0..<volume.size.z {
            for j in 0..<volume.size.y {
                for i in 0..<volume.size.x {
                    let world = volume.geometry.world(atIndex: Vector3(Double(i), Double(j), Double(k)))
                    let index = expected.geometry.index(atWorld: world)
                    let rounded = index.rounded(.toNearestOrEven)
                    if length(index - rounded) > 1e-3 { offGrid += 1; continue }
                    if volume[i, j, k] != expected[Int(rounded.x), Int(rounded.y), Int(rounded.z)] { mismatches += 1 }
                }
            }
        }
        #expect(offGrid == 0)
        #expect(mismatches == 0)
    }

    @Test func enhancedCTUsesPerFramePositions() throws {
        let assembled = try Self.assemble(Fixtures.path("pydicom/eCT_Supplemental.dcm"))
        let volume = assembled.volume
        #expect(volume.size == VolumeSize(512, 512, 2))
        // Frames at z = -159 and -149; the normal (-1,0,0) x (0,1,0) = (0,0,-1) puts z = -149 first.
        #expect(volume.origin == Vector3(99.5, -301.5, -149))
        #expect(volume.direction.columns[2] == Vector3(0, 0, -1))
        #expect(abs(volume.spacing.z - 10) < 1e-9)
        #expect(abs(volume.spacing.x - 0.388672) < 1e-9)
        // pydicom: pixel_array[1, 100, 200] = 1074 and [0, 300, 50] = 0; Rescale Intercept -1024.
        #expect(volume[200, 100, 0] == 1074 - 1024)
        #expect(volume[50, 300, 1] == -1024)
        let sums = (0..<2).map { k in (0..<(512 * 512)).reduce(0.0) { $0 + Double(volume.voxels[k * 512 * 512 + $1]) } }
        #expect(sums[0] == 98423405 - 1024 * 512 * 512)
        #expect(sums[1] == 100826003 - 1024 * 512 * 512)
    }
}

struct SiemensCSAHeaderTests {
    @Test func mosaicCSAHeaderIsRead() throws {
        let file = try DicomFile(contentsOf: Fixtures.path("transfer-syntaxes/In/1.dcm"), stopBeforePixelData: true)
        let header = try #require(SiemensCSAHeader(file.dataSet))
        // nibabel.nicom.csareader: SliceNormalVector items [0.0, 0.10799944, 0.99415095], NumberOfImagesInMosaic [35].
        #expect(header.numbers("SliceNormalVector") == [0.0, 0.10799944, 0.99415095])
        #expect(header.numbers("NumberOfImagesInMosaic") == [35])
    }
}
