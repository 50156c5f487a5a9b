// Loads 4 CT series of 200 slices of 512 x 512 (uncompressed) into Float32 volumes and compares
// the time and peak memory with SimpleITK's ImageSeriesReader and pydicom, measured in the same run.
//
// usage: ImagingBenchmark [--data FOLDER] [--runs N]
//        ImagingBenchmark --load FOLDER   (one measured load, run as a child process)
import Foundation
import Imaging

let seriesCount = 4
let slicesPerSeries = 200
let matrix = 512

/// Peak resident memory of this process, in megabytes (Linux reports ru_maxrss in kilobytes).
func peakMemoryMB() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

struct BenchmarkError: Error, CustomStringConvertible {
    var description: String
}

/// Scans the folder and assembles every series once, then prints "milliseconds peakMB".
func loadOnce(_ folder: String) throws {
    let start = DispatchTime.now()
    let scan = try SeriesScanner.scan(folder)
    // Volumes are kept until the end, as the Python loaders keep theirs.
    var volumes: [Volume<Float>] = []
    for series in scan.series {
        volumes.append(try SeriesAssembler.assemble(series).volume)
    }
    let voxels = volumes.reduce(0) { $0 + $1.voxels.count }
    let milliseconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
    guard scan.series.count == seriesCount, voxels == seriesCount * slicesPerSeries * matrix * matrix else {
        throw BenchmarkError(description: "loaded \(scan.series.count) series and \(voxels) voxels; the benchmark data is incomplete")
    }
    print(milliseconds, peakMemoryMB())
}

/// Writes the benchmark series with this project's CT writer: smooth HU ramps plus a per-voxel pattern.
func generate(_ folder: String) throws {
    let geometry = Geometry(size: VolumeSize(matrix, matrix, slicesPerSeries), spacing: Vector3(0.75, 0.75, 1.25), origin: Vector3(-192, -192, -250))
    for series in 0..<seriesCount {
        var voxels = [Float](repeating: 0, count: geometry.voxelCount)
        for index in voxels.indices { voxels[index] = Float((index &* 2654435761 &+ series) % 2400 - 1024) }
        let attributes = CTSeriesAttributes(patientName: "BENCHMARK^PHANTOM", patientID: "BENCH-0001", seriesNumber: series + 1,
                                            seriesDescription: "benchmark series \(series + 1)")
        try CTSeriesWriter.write(Volume(geometry: geometry, voxels: voxels), attributes: attributes,
                                 to: (folder as NSString).appendingPathComponent("series\(series + 1)"))
    }
}

/// Runs a command and returns the two numbers it prints last: milliseconds and peak megabytes.
func measure(_ executable: String, _ arguments: [String]) throws -> (milliseconds: Double, peakMB: Double) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    let numbers = output.split(whereSeparator: \.isWhitespace).compactMap { Double($0) }
    guard process.terminationStatus == 0, numbers.count >= 2 else {
        throw BenchmarkError(description: "\(executable) \(arguments.joined(separator: " ")) failed: \(output)")
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
var folder = NSTemporaryDirectory() + "stdnet-imaging-benchmark"
var runs = 5
while !arguments.isEmpty {
    let option = arguments.removeFirst()
    guard !arguments.isEmpty else { fatalError("option \(option) needs a value") }
    switch option {
    case "--data": folder = arguments.removeFirst()
    case "--runs": runs = Int(arguments.removeFirst()) ?? runs
    default: fatalError("unknown option \(option); usage: ImagingBenchmark [--data FOLDER] [--runs N]")
    }
}

if !FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent("series\(seriesCount)")) {
    print("writing \(seriesCount) series of \(slicesPerSeries) slices to \(folder)")
    try generate(folder)
}
let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("python")
let tools: [(name: String, executable: String, arguments: [String])] = [
    ("stdnet Imaging", CommandLine.arguments[0], ["--load", folder]),
    ("SimpleITK ImageSeriesReader", "/usr/bin/env", ["python3", scripts.appendingPathComponent("load_simpleitk.py").path, folder]),
    ("pydicom + numpy", "/usr/bin/env", ["python3", scripts.appendingPathComponent("load_pydicom.py").path, folder]),
]

// One warm-up run each fills the page cache, then the runs alternate between tools.
var results: [String: [(milliseconds: Double, peakMB: Double)]] = [:]
for tool in tools { _ = try measure(tool.executable, tool.arguments) }
for _ in 0..<runs {
    for tool in tools { results[tool.name, default: []].append(try measure(tool.executable, tool.arguments)) }
}

let reference = median(results[tools[0].name]!.map(\.milliseconds))
print("workload: \(seriesCount) series x \(slicesPerSeries) slices of \(matrix) x \(matrix) int16 to Float32 volumes, page cache warm, median of \(runs) runs")
print("| tool | time (ms) | peak memory (MB) | time / stdnet |")
print("| --- | --- | --- | --- |")
for tool in tools {
    let time = median(results[tool.name]!.map(\.milliseconds))
    let memory = median(results[tool.name]!.map(\.peakMB))
    print("| \(tool.name) | \(Int(time.rounded())) | \(Int(memory.rounded())) | \(String(format: "%.2f", time / reference)) |")
}
