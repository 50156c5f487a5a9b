// Runs SimpleITK from python3 as the independent PNG decoder for the tests.
import Foundation

struct ProcessFailure: Error, CustomStringConvertible {
    var description: String
}

/// Returns whether `python3` on the PATH can import `module`.
func pythonHasModule(_ module: String) -> Bool {
    (try? runPython("import \(module)", [])) != nil
}

/// Runs a Python script with `python3` from the PATH and returns its standard output.
///
/// - throws: `ProcessFailure` with the standard error when the script exits with an error.
@discardableResult
func runPython(_ script: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script] + arguments
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    let errorData = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw ProcessFailure(description: "python3 exited with status \(process.terminationStatus): " + String(decoding: errorData, as: UTF8.self))
    }
    return String(decoding: data, as: UTF8.self)
}

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
