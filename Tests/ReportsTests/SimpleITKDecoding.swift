// Runs SimpleITK from python3 as the independent PNG decoder for the tests.
import Foundation
import TestSupport

/// Decodes a PNG file with SimpleITK and returns its width, height, samples per pixel and
/// samples, top row first.
func decodeWithSimpleITK(_ png: [UInt8]) throws -> (width: Int, height: Int, samplesPerPixel: Int, samples: [UInt8]) {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("reports-\(UUID().uuidString).png")
    try Data(png).write(to: file)
    defer { try? FileManager.default.removeItem(at: file) }

    let script = """
        import sys
        import SimpleITK as sitk
        image = sitk.ReadImage(sys.argv[1], imageIO="PNGImageIO")
        width, height = image.GetSize()
        samples = sitk.GetArrayFromImage(image).reshape(-1)
        print(width, height, image.GetNumberOfComponentsPerPixel())
        print(" ".join(str(int(value)) for value in samples))
        """
    let lines = try runPython(script, [file.path]).split(separator: "\n", omittingEmptySubsequences: false)
    let header = lines[0].split(separator: " ").map { Int($0)! }
    let samples = lines[1].split(separator: " ").map { UInt8($0)! }
    return (header[0], header[1], header[2], samples)
}
