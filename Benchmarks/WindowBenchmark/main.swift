// Times one forward pass of a whole STD-Net window on the engine, for the side-by-side run
// against the PyTorch reference in Benchmarks/pytorch_vs_engine.sh.
//
// Usage:
//   WindowBenchmark save-random FOLDER
//       writes random full-size models (the default ModelConfiguration and its matched
//       early-fusion baseline) into FOLDER/std-net and FOLDER/early-fusion
//   OMP_NUM_THREADS=2 WindowBenchmark time MODEL_FOLDER [--extent D H W] [--runs N]
//       loads the model, runs one warm-up and N timed forward passes on random phases and
//       prints one line of key=value pairs
import Foundation
import MemoryPolicy
import NeuralEngine
import STDNet

func peakResidentMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    // ru_maxrss is in KiB on Linux.
    return Double(usage.ru_maxrss) / 1024
}

func saveRandomModels(to folder: URL) throws {
    let stdNet = ModelConfiguration()
    for configuration in [stdNet, matchedEarlyFusion(stdNet)] {
        let model = STDNetModel.random(configuration, seed: 1)
        let destination = folder.appendingPathComponent(configuration.architecture.rawValue)
        try model.save(to: destination)
        print("wrote \(destination.path): channels \(configuration.channels), \(model.weights.parameterCount) parameters")
    }
}

func timeWindow(modelFolder: URL, extent: [Int], runs: Int) throws {
    // As the worker does before it runs a model.
    restartWithPassiveOpenMPWaitUnlessSet()
    keepFreedMemoryForReuse()
    let model = try STDNetModel.load(from: modelFolder)
    var generator = SplitMix64(seed: 1)
    let phases: [Tensor?] = (0..<model.configuration.phaseSlots).map { _ in
        .randomNormal(shape: [1] + extent + [1], using: &generator)
    }
    var milliseconds: [Double] = []
    var stages: [StageTimings] = []
    var logitsMean = 0.0
    for run in 0...runs {
        let start = DispatchTime.now().uptimeNanoseconds
        let output = model.forward(phases)
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        // The first run is a warm-up: oneDNN builds its kernels and the allocator grows.
        if run > 0 {
            milliseconds.append(elapsed)
            stages.append(output.timings)
        }
        logitsMean = output.logits.scalars.reduce(0.0) { $0 + Double($1) } / Double(output.logits.count)
    }
    let sorted = milliseconds.sorted()
    // The stage times of the run with the median total.
    let medianStages = stages[milliseconds.firstIndex(of: sorted[sorted.count / 2])!]
    let threads = ProcessInfo.processInfo.environment["OMP_NUM_THREADS"] ?? "unset"
    print("engine=stdnet architecture=\(model.configuration.architecture.rawValue) omp_threads=\(threads)",
          "extent=\(extent.map(String.init).joined(separator: "x")) runs=\(runs)",
          String(format: "median_ms=%.0f min_ms=%.0f encoder_ms=%.0f temporal_ms=%.0f decoder_ms=%.0f peak_rss_mb=%.0f logits_mean=%.6f",
                 sorted[sorted.count / 2], sorted[0], medianStages.spatialEncodingMilliseconds,
                 medianStages.temporalModellingMilliseconds, medianStages.decodingMilliseconds,
                 peakResidentMegabytes(), logitsMean))
}

func usage() -> Never {
    FileHandle.standardError.write(Data("""
        usage: WindowBenchmark save-random FOLDER
               WindowBenchmark time MODEL_FOLDER [--extent D H W] [--runs N]

        """.utf8))
    exit(2)
}

var arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count >= 2 else { usage() }
let command = arguments.removeFirst()
let folder = URL(fileURLWithPath: arguments.removeFirst())
var extent = [64, 128, 128]
var runs = 3
while !arguments.isEmpty {
    let option = arguments.removeFirst()
    switch option {
    case "--extent" where arguments.count >= 3:
        let values = arguments.prefix(3).compactMap { Int($0) }
        guard values.count == 3, values.allSatisfy({ $0 > 0 }) else { usage() }
        extent = values
        arguments.removeFirst(3)
    case "--runs" where !arguments.isEmpty:
        guard let value = Int(arguments.removeFirst()), value >= 1 else { usage() }
        runs = value
    default:
        usage()
    }
}
switch command {
case "save-random": try saveRandomModels(to: folder)
case "time": try timeWindow(modelFolder: folder, extent: extent, runs: runs)
default: usage()
}
