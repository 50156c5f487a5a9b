// Times the NeuralEngine kernels at STD-Net's sizes and prints one table row per workload.
// Run a release build with two oneDNN threads:
//   OMP_NUM_THREADS=2 swift run -c release NeuralEngineBenchmarks [workload ...]
// Workloads: convolution, temporal, volume (the default runs these three), temporal-fused (the
// 16-channel temporal kernel alone, for profiling) and temporal-forward (the forward kernel at
// every level of a window).
import Foundation
import NeuralEngine

/// Wall and process CPU time of one run, in seconds.
struct Timing {
    var wall: Double
    var cpu: Double

    /// Scales both times, to extrapolate a run over part of a workload.
    static func * (timing: Timing, factor: Double) -> Timing {
        Timing(wall: timing.wall * factor, cpu: timing.cpu * factor)
    }
}

func processCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// Returns the run with the median wall time of `runs` calls after one warm-up call. CPU time
/// is reported too, because the machine may be shared: under contention the wall time grows
/// while the CPU time of this process stays close to its unloaded value.
func medianTiming(runs: Int, _ body: () -> Void) -> Timing {
    body()
    var timings: [Timing] = []
    for _ in 0..<runs {
        let wallStart = DispatchTime.now().uptimeNanoseconds
        let cpuStart = processCPUSeconds()
        body()
        timings.append(Timing(
            wall: Double(DispatchTime.now().uptimeNanoseconds - wallStart) / 1e9,
            cpu: processCPUSeconds() - cpuStart))
    }
    return timings.sorted { $0.wall < $1.wall }[runs / 2]
}

func printRow(_ workload: String, _ timing: Timing, _ note: String) {
    print(
        workload.padding(toLength: 58, withPad: " ", startingAt: 0),
        String(format: "%9.1f ms wall %9.1f ms CPU", timing.wall * 1000, timing.cpu * 1000), " ", note)
}

func benchmarkConvolution(batch: Int, channels: Int, depth: Int, height: Int, width: Int, backward: Bool) {
    var generator = SplitMix64(seed: 11)
    let input = Tensor.randomNormal(shape: [batch, depth, height, width, channels], using: &generator)
    let weight = Tensor.randomNormal(shape: [channels, channels, 3, 3, 3], standardDeviation: 0.05, using: &generator)
    let bias = Tensor(shape: [channels])
    let geometry = ConvolutionGeometry(stride: 1, padding: 1)
    let flops = 2.0 * Double(batch * depth * height * width) * Double(channels * channels * 27)
    let name = "conv3d 3x3x3 \(channels)->\(channels) \(depth)x\(height)x\(width) batch \(batch)"
    var output = Tensor(shape: [1])
    let forwardTiming = medianTiming(runs: 5) {
        output = Convolution3D.forward(input: input, weight: weight, bias: bias, geometry: geometry)
    }
    printRow(name + " forward", forwardTiming, String(format: "%.0f GFLOP/s", flops / forwardTiming.wall / 1e9))
    let reusedTiming = medianTiming(runs: 5) {
        Convolution3D.forward(input: input, weight: weight, bias: bias, geometry: geometry, into: &output)
    }
    printRow("  forward into a reused output", reusedTiming, String(format: "%.0f GFLOP/s", flops / reusedTiming.wall / 1e9))
    guard backward else { return }
    let backwardTiming = medianTiming(runs: 3) {
        _ = Convolution3D.backward(outputGradient: output, input: input, weight: weight, geometry: geometry)
    }
    printRow(name + " backward", backwardTiming, String(format: "%.0f GFLOP/s (data + weights)", 2 * flops / backwardTiming.wall / 1e9))
}

let workloads = Set(CommandLine.arguments.dropFirst())
func selected(_ name: String) -> Bool { workloads.isEmpty || workloads.contains(name) }

print("threads: oneDNN uses OMP_NUM_THREADS (default: all cores); cores available: \(ProcessInfo.processInfo.activeProcessorCount)")
if selected("convolution") {
    benchmarkConvolution(batch: 4, channels: 16, depth: 64, height: 128, width: 128, backward: true)
    benchmarkConvolution(batch: 4, channels: 32, depth: 32, height: 64, width: 64, backward: false)
    benchmarkConvolution(batch: 4, channels: 64, depth: 16, height: 32, width: 32, backward: false)
}

func benchmarkTemporal(channels: Int, depth: Int, height: Int, width: Int, includeBackward: Bool = true, includeGeneric: Bool = true) {
    var generator = SplitMix64(seed: 12)
    let slots = 4
    // STD-Net's default configuration: four heads and an MLP twice as wide as the tokens.
    let heads = 4
    let parameters = TemporalEncoder.Parameters.random(
        channels: channels, heads: heads, hiddenChannels: 2 * channels, phaseSlots: slots, using: &generator)
    let phases = Tensor.randomNormal(shape: [slots, depth, height, width, channels], using: &generator)
    let locations = depth * height * width
    let name = "temporal fused, \(slots) tokens x \(channels) ch, \(depth)x\(height)x\(width)"
    let fusedTiming = medianTiming(runs: 5) {
        _ = TemporalEncoder.forward(phases: phases, presentPhases: [true, true, true, true], parameters: parameters)
    }
    printRow(name, fusedTiming, String(format: "%.0f ns per location, %d heads", fusedTiming.wall / Double(locations) * 1e9, heads))
    guard includeBackward else { return }
    let outputGradient = Tensor.randomNormal(shape: [1, depth, height, width, channels], using: &generator)
    let backwardTiming = medianTiming(runs: 3) {
        _ = TemporalEncoder.backward(
            outputGradient: outputGradient, phases: phases, presentPhases: [true, true, true, true], parameters: parameters)
    }
    printRow("  fused backward (recomputes the forward)", backwardTiming, String(format: "%.0f ns per location", backwardTiming.wall / Double(locations) * 1e9))

    guard includeGeneric else { return }

    // The generic path on 1/64 of the locations, scaled up; tokens are gathered as the
    // reference needs them, and the gather is timed too.
    let sliceLocations = locations / 64
    let referenceTiming = medianTiming(runs: 3) {
        var tokens = Tensor(shape: [sliceLocations, slots, channels])
        for slot in 0..<slots {
            for location in 0..<sliceLocations {
                for c in 0..<channels {
                    tokens.scalars[(location * slots + slot) * channels + c] = phases.scalars[(slot * locations + location) * channels + c]
                }
            }
        }
        let mask = [Bool](repeating: true, count: sliceLocations * slots)
        _ = TemporalEncoder.referenceForward(tokens: tokens, mask: mask, parameters: parameters)
    } * 64
    printRow("temporal generic ops (1/64 of the locations, x64)", referenceTiming, String(format: "fused is %.1fx faster", referenceTiming.wall / fusedTiming.wall))
}

func benchmarkVolumeOps(channels: Int, depth: Int, height: Int, width: Int, upsampling: Bool) {
    var generator = SplitMix64(seed: 13)
    let input = Tensor.randomNormal(shape: [4, depth, height, width, channels], using: &generator)
    let scale = Tensor(shape: [channels], repeating: 1)
    let shift = Tensor(shape: [channels])
    let size = "\(channels) ch \(depth)x\(height)x\(width) batch 4"
    let normTiming = medianTiming(runs: 5) { _ = InstanceNorm.forward(input, scale: scale, shift: shift) }
    printRow("instance norm forward, " + size, normTiming, "")
    guard upsampling else { return }
    let upsamplingTiming = medianTiming(runs: 5) { _ = TrilinearUpsampling.forward(input) }
    printRow("trilinear x2 upsampling forward, " + size, upsamplingTiming, "")
}

if selected("temporal") {
    benchmarkTemporal(channels: 16, depth: 64, height: 128, width: 128)
    benchmarkTemporal(channels: 32, depth: 32, height: 64, width: 64)
    benchmarkTemporal(channels: 128, depth: 8, height: 16, width: 16)
}
if workloads.contains("temporal-forward") {
    // Every level of a 64x128x128 STD-Net window.
    benchmarkTemporal(channels: 16, depth: 64, height: 128, width: 128, includeBackward: false, includeGeneric: false)
    benchmarkTemporal(channels: 32, depth: 32, height: 64, width: 64, includeBackward: false, includeGeneric: false)
    benchmarkTemporal(channels: 64, depth: 16, height: 32, width: 32, includeBackward: false, includeGeneric: false)
    benchmarkTemporal(channels: 128, depth: 8, height: 16, width: 16, includeBackward: false, includeGeneric: false)
}
if workloads.contains("temporal-fused") {
    benchmarkTemporal(channels: 16, depth: 64, height: 128, width: 128, includeGeneric: false)
}
if selected("volume") {
    benchmarkVolumeOps(channels: 16, depth: 64, height: 128, width: 128, upsampling: false)
    benchmarkVolumeOps(channels: 32, depth: 32, height: 64, width: 64, upsampling: true)
}
