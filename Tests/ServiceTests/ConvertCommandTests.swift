import Foundation
import Imaging
import Testing
import TestSupport

/// `stdnet convert` on outputs it cannot write and on series it cannot convert.
@Suite struct ConvertCommandTests {
    @Test func unwritableOutputNamedPlainly() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("stdnet-convert-\(UUID().uuidString)")
        let input = folder.appendingPathComponent("dicom")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("out.nii")
        try Data("x".utf8).write(to: file)
        // /proc takes no new folders, even from root.
        let outputs: [(path: String, cause: String)] = [
            (file.path, "cannot create the output folder \(file.path): a file of that name exists"),
            ("/proc/stdnet-convert-out", "cannot create the output folder /proc/stdnet-convert-out: "),
        ]
        for (output, message) in outputs {
            let process = try ServiceProcess(["convert", input.path, output], label: "convert")
            #expect(process.wait(timeout: .seconds(30)) == 1, "\(process.output)")
            #expect(process.output.contains(message), "\(process.output)")
            #expect(!process.output.contains("NSCocoaErrorDomain"), "\(process.output)")
        }
    }

    @Test func failedOnlySeriesReportedAsFailed() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("stdnet-convert-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let geometry = Geometry(size: VolumeSize(8, 8, 3), spacing: Vector3(1, 1, 2))
        let volume = Volume(geometry: geometry, voxels: [Float](repeating: 40, count: 8 * 8 * 3))
        let paths = try CTSeriesWriter.write(volume, attributes: CTSeriesAttributes(patientName: "PHANTOM^ONE", patientID: "PH-0001"),
                                             to: folder.appendingPathComponent("dicom").path)
        // Cuts the pixel data of the middle slice short.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: paths[1]))
        try handle.truncate(atOffset: try handle.seekToEnd() - 40)
        try handle.close()

        let process = try ServiceProcess(["convert", folder.appendingPathComponent("dicom").path, folder.appendingPathComponent("out").path],
                                         label: "convert")
        #expect(process.wait(timeout: .seconds(30)) == 1, "\(process.output)")
        #expect(process.output.contains("converted=0 failed=1"), "\(process.output)")
        #expect(process.output.contains("nothing converted: the 1 series found under \(folder.path)/dicom failed to convert"), "\(process.output)")
        #expect(!process.output.contains("no DICOM image series found"), "\(process.output)")
    }
}
