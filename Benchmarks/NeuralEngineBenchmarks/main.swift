// Times the NeuralEngine kernels at STD-Net's sizes and prints one table row per workload.
// Run a release build: swift run -c release NeuralEngineBenchmarks [workload ...]
import Foundation
import NeuralEngine

/// Returns the median wall time in seconds of `runs` calls after one warm-up call.
func medianSeconds(runs: Int, _ body: () -> Void) -> Double {
    body()
    var times: [Double] = []
    for _ in 0..<runs {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return times.sorted()[runs / 2]
}

func printRow(_ workload: String, _ seconds: Double, _ note: String) {
    print(workload.padding(toLength: 58, withPad: " ", startingAt: 0), String(format: "%9.1f ms", seconds * 1000), " ", note)
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
    let forwardSeconds = medianSeconds(runs: 5) {
        output = Convolution3D.forward(input: input, weight: weight, bias: bias, geometry: geometry)
    }
    printRow(name + " forward", forwardSeconds, String(format: "%.0f GFLOP/s", flops / forwardSeconds / 1e9))
    guard backward else { return }
    let backwardSeconds = medianSeconds(runs: 3) {
        _ = Convolution3D.backward(outputGradient: output, input: input, weight: weight, geometry: geometry)
    }
    printRow(name + " backward", backwardSeconds, String(format: "%.0f GFLOP/s (data + weights)", 2 * flops / backwardSeconds / 1e9))
}

let workloads = Set(CommandLine.arguments.dropFirst())
func selected(_ name: String) -> Bool { workloads.isEmpty || workloads.contains(name) }

print("threads: oneDNN uses OMP_NUM_THREADS (default: all cores); cores available: \(ProcessInfo.processInfo.activeProcessorCount)")
if selected("convolution") {
    benchmarkConvolution(batch: 4, channels: 16, depth: 64, height: 128, width: 128, backward: true)
    benchmarkConvolution(batch: 4, channels: 32, depth: 32, height: 64, width: 64, backward: false)
    benchmarkConvolution(batch: 4, channels: 64, depth: 16, height: 32, width: 32, backward: false)
}
