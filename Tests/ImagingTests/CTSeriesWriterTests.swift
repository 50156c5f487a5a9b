// The CT writer's files read back exactly here, read in pydicom, and pass dciodvfy without errors.
import Foundation
import Testing
import TestSupport
@testable import Imaging

struct CTSeriesWriterTests {
    static let geometry = Geometry(size: VolumeSize(7, 5, 4), spacing: Vector3(0.7, 0.65, 2.5), origin: Vector3(-100.25, 50.5, -20),
                                   direction: ResamplerTests.rotation(about: Vector3(1, 0, 0), degrees: 15))
    static let volume = Volume(geometry: geometry, voxels: (0..<140).map { Float($0 * 17 % 2000) - 1024 })

    static func writeSeries(_ name: String) throws -> (folder: String, paths: [String]) {
        let folder = try makeTemporaryFolder(name).appendingPathComponent("series").path
        let attributes = CTSeriesAttributes(patientName: "PHANTOM^ONE", patientID: "PH-0001", seriesDescription: "portal venous phantom",
                                            acquisitionTime: "120130", contrastAgent: "IOHEXOL")
        return (folder, try CTSeriesWriter.write(volume, attributes: attributes, to: folder))
    }

    @Test func writtenSeriesReadsBackExactly() throws {
        let (folder, paths) = try Self.writeSeries("ct-writer")
        #expect(paths.count == 4)
        let assembled = try SeriesAssembler.loadSeries(folder: folder)
        #expect(assembled.volume.voxels == Self.volume.voxels)
        #expect(assembled.volume.geometry.isSameGrid(as: Self.geometry, tolerance: 1e-6))
        #expect(assembled.attributes.contrastAgent == "IOHEXOL")
        #expect(assembled.attributes.seriesDescription == "portal venous phantom")
    }

    @Test func pydicomReadsWrittenFile() throws {
        guard pythonHasModule("pydicom") else { return }  // interoperability check skipped without pydicom
        let (_, paths) = try Self.writeSeries("ct-pydicom")
        let script = """
        import sys, pydicom
        d = pydicom.dcmread(sys.argv[1])
        a = d.pixel_array.astype(float) * float(d.RescaleSlope) + float(d.RescaleIntercept)
        print(d.SOPClassUID, d.Rows, d.Columns, a[2, 3], [float(v) for v in d.ImagePositionPatient])
        """
        let output = try runPython(script, [paths[2]])
        let fields = output.split(separator: " ", maxSplits: 4).map(String.init)
        #expect(fields[0] == "1.2.840.10008.5.1.4.1.1.2")
        #expect(fields[1] == "5")
        #expect(fields[2] == "7")
        #expect(Double(fields[3]) == Double(Self.volume[3, 2, 2]))
        let position = Self.geometry.world(atIndex: Vector3(0, 0, 2))
        let values = fields[4].trimmingCharacters(in: CharacterSet(charactersIn: "[]\n")).split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        #expect(values.count == 3)
        for axis in 0..<min(3, values.count) { #expect(abs(values[axis] - position[axis]) < 1e-6) }
    }

    @Test func simpleITKReadsWrittenGeometry() throws {
        guard pythonHasModule("SimpleITK") else { return }  // interoperability check skipped without SimpleITK
        let (folder, _) = try Self.writeSeries("ct-simpleitk")
        let script = """
        import sys, SimpleITK as sitk
        r = sitk.ImageSeriesReader()
        r.SetFileNames(r.GetGDCMSeriesFileNames(sys.argv[1]))
        i = r.Execute()
        print(' '.join(repr(float(v)) for v in i.GetOrigin() + i.GetSpacing() + i.GetDirection()), i.GetPixel(3, 2, 1))
        """
        let values = try runPython(script, [folder]).split(whereSeparator: \.isWhitespace).compactMap { Double($0) }
        #expect(values.count == 16)
        guard values.count == 16 else { return }
        for axis in 0..<3 {
            #expect(abs(values[axis] - Self.geometry.origin[axis]) < 1e-4)
            #expect(abs(values[3 + axis] - Self.geometry.spacing[axis]) < 1e-4)
            for row in 0..<3 { #expect(abs(values[6 + 3 * row + axis] - Self.geometry.direction[row, axis]) < 1e-4) }
        }
        #expect(values[15] == Double(Self.volume[3, 2, 1]))
    }

    @Test func dciodvfyFindsNoErrors() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/dciodvfy") else { return }  // dicom3tools not installed
        let (_, paths) = try Self.writeSeries("ct-dciodvfy")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/dciodvfy")
        process.arguments = [paths[0]]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let report = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let errors = report.split(separator: "\n").filter { $0.hasPrefix("Error") }
        #expect(errors.isEmpty, "\(errors.joined(separator: "\n"))")
    }
}
