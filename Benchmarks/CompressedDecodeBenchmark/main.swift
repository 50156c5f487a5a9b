// Decodes one CT series of 200 slices of 512 x 512 into a Float32 volume, from three copies:
// uncompressed, JPEG lossless (process 14, selection value 1) and JPEG 2000 lossless.
// It compares the time with pydicom + pylibjpeg and with SimpleITK's ImageSeriesReader in the same run.
// The compressed copies are made at benchmark time with DCMTK dcmcjpeg and GDCM gdcmconv.
//
// usage: CompressedDecodeBenchmark [--data FOLDER] [--runs N]
//        CompressedDecodeBenchmark --load FOLDER   (one measured load, run as a child process)
import Foundation
import Imaging
import Synchronization

let slices = 200
let matrix = 512

struct BenchmarkError: Error, CustomStringConvertible {
    var description: String
}

/// CPU time (user + system) of this process so far, in milliseconds.
func cpuMilliseconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let seconds = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
    let microseconds = Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
    return seconds * 1000 + microseconds / 1000
}

/// Scans the folder and assembles its one series, then prints "wallMilliseconds cpuMilliseconds".
func loadOnce(_ folder: String) throws {
    let startCPU = cpuMilliseconds()
    let start = DispatchTime.now()
    let scan = try SeriesScanner.scan(folder)
    guard scan.series.count == 1 else {
        throw BenchmarkError(description: "found \(scan.series.count) series in \(folder), expected 1")
    }
    let volume = try SeriesAssembler.assemble(scan.series[0]).volume
    let milliseconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
    let cpu = cpuMilliseconds() - startCPU
    guard volume.voxels.count == slices * matrix * matrix else {
        throw BenchmarkError(description: "loaded \(volume.voxels.count) voxels from \(folder), expected \(slices * matrix * matrix)")
    }
    print(milliseconds, cpu)
}

/// Writes the uncompressed series with this project's CT writer: an elliptic body of soft tissue
/// with a bone ring in air, plus noise of +-20 HU from a hash. dcmcjpeg +e1 compresses it from 101 to 37 MB.
func generate(_ folder: String) throws {
    let geometry = Geometry(size: VolumeSize(matrix, matrix, slices), spacing: Vector3(0.75, 0.75, 1.25), origin: Vector3(-192, -192, -250))
    var voxels = [Float](repeating: 0, count: geometry.voxelCount)
    for z in 0..<slices {
        for y in 0..<matrix {
            for x in 0..<matrix {
                let index = (z * matrix + y) * matrix + x
                let dx = Double(x - matrix / 2) / 220, dy = Double(y - matrix / 2) / 160
                let radius = (dx * dx + dy * dy).squareRoot()
                let noise = Float((index &* 2654435761) % 41 - 20)
                let tissue: Float = radius > 1 ? -1000 : (radius > 0.9 ? 700 : 40 + Float(z % 50))
                voxels[index] = tissue + noise
            }
        }
    }
    let attributes = CTSeriesAttributes(patientName: "BENCHMARK^PHANTOM", patientID: "BENCH-0002", seriesNumber: 1,
                                        seriesDescription: "compressed decode benchmark")
    try CTSeriesWriter.write(Volume(geometry: geometry, voxels: voxels), attributes: attributes, to: folder)
}

/// Runs a command to completion and returns its standard output and error. Throws when it exits non-zero.
@discardableResult
func run(_ executable: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw BenchmarkError(description: "\(executable) \(arguments.joined(separator: " ")) exited with status \(process.terminationStatus): \(output)")
    }
    return output
}

/// Compresses every file of `source` into `destination` with `tool` (dcmcjpeg or gdcmconv), one file per core at a time.
func compress(_ source: String, into destination: String, tool: String, options: [String]) throws {
    try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true)
    let names = try FileManager.default.contentsOfDirectory(atPath: source).sorted()
    let failures = Mutex<[String]>([])
    DispatchQueue.concurrentPerform(iterations: names.count) { index in
        let input = (source as NSString).appendingPathComponent(names[index])
        let output = (destination as NSString).appendingPathComponent(names[index])
        do { try run(tool, options + [input, output]) } catch { failures.withLock { $0.append("\(error)") } }
    }
    if let first = failures.withLock({ $0.first }) { throw BenchmarkError(description: first) }
}

/// Runs a measured load and returns the two numbers it prints last: wall and CPU milliseconds.
func measure(_ executable: String, _ arguments: [String]) throws -> (milliseconds: Double, cpuMilliseconds: Double) {
    let output = try run(executable, arguments)
    let numbers = output.split(whereSeparator: \.isWhitespace).compactMap { Double($0) }
    guard numbers.count >= 2 else {
        throw BenchmarkError(description: "\(executable) \(arguments.joined(separator: " ")) printed no timing: \(output)")
    }
    return (numbers[numbers.count - 2], numbers[numbers.count - 1])
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted[sorted.count / 2]
}

var arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "--load", arguments.count == 2 {
    try loadOnce(arguments[1])
    exit(0)
}
var folder = NSTemporaryDirectory() + "stdnet-compressed-decode-benchmark"
var runs = 3
while !arguments.isEmpty {
    let option = arguments.removeFirst()
    guard !arguments.isEmpty else { fatalError("option \(option) needs a value; usage: CompressedDecodeBenchmark [--data FOLDER] [--runs N]") }
    switch option {
    case "--data": folder = arguments.removeFirst()
    case "--runs": runs = Int(arguments.removeFirst()) ?? runs
    default: fatalError("unknown option \(option); usage: CompressedDecodeBenchmark [--data FOLDER] [--runs N]")
    }
}

// Each folder is made once and reused by later runs. Delete FOLDER to make the files again.
let syntaxes: [(name: String, folder: String, tool: String, options: [String])] = [
    ("uncompressed (explicit VR little endian)", "uncompressed", "", []),
    ("JPEG lossless, process 14 SV1 (1.2.840.10008.1.2.4.70)", "jpeg-lossless-sv1", "/usr/bin/dcmcjpeg", ["+e1"]),
    ("JPEG 2000 lossless (1.2.840.10008.1.2.4.90)", "jpeg2000-lossless", "/usr/bin/gdcmconv", ["--j2k"]),
]
let uncompressed = (folder as NSString).appendingPathComponent(syntaxes[0].folder)
if !FileManager.default.fileExists(atPath: uncompressed) {
    print("writing \(slices) slices to \(uncompressed)")
    try generate(uncompressed)
}
for syntax in syntaxes.dropFirst() {
    let destination = (folder as NSString).appendingPathComponent(syntax.folder)
    if !FileManager.default.fileExists(atPath: destination) {
        print("compressing with \(syntax.tool) \(syntax.options.joined(separator: " ")) into \(destination)")
        try compress(uncompressed, into: destination, tool: syntax.tool, options: syntax.options)
    }
}

let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("python")
func tools(_ data: String) -> [(name: String, executable: String, arguments: [String])] {
    [
        ("stdnet Imaging", CommandLine.arguments[0], ["--load", data]),
        ("pydicom + pylibjpeg", "/usr/bin/env", ["python3", scripts.appendingPathComponent("decode_pydicom.py").path, data]),
        ("SimpleITK ImageSeriesReader", "/usr/bin/env", ["python3", scripts.appendingPathComponent("decode_simpleitk.py").path, data]),
    ]
}

print("workload: \(slices) slices of \(matrix) x \(matrix) int16 to one Float32 volume, page cache warm, median of \(runs) runs")
print("| syntax | tool | time (ms) | CPU time (ms) | time / stdnet |")
print("| --- | --- | --- | --- | --- |")
for syntax in syntaxes {
    let data = (folder as NSString).appendingPathComponent(syntax.folder)
    let candidates = tools(data)
    // One warm-up run each fills the page cache, then the runs alternate between tools.
    for tool in candidates { _ = try measure(tool.executable, tool.arguments) }
    var results: [String: [(milliseconds: Double, cpuMilliseconds: Double)]] = [:]
    for _ in 0..<runs {
        for tool in candidates { results[tool.name, default: []].append(try measure(tool.executable, tool.arguments)) }
    }
    let reference = median(results[candidates[0].name]!.map(\.milliseconds))
    for tool in candidates {
        let time = median(results[tool.name]!.map(\.milliseconds))
        let cpu = median(results[tool.name]!.map(\.cpuMilliseconds))
        print("| \(syntax.name) | \(tool.name) | \(Int(time.rounded())) | \(Int(cpu.rounded())) | \(String(format: "%.2f", time / reference)) |")
    }
}
