// Time to generate one 4-phase phantom study of 256x256x120 voxels, split into rendering
// (anatomy, lesions, blur, noise, labels) and writing (DICOM and NIfTI), median of RUNS runs.
//
// usage: PhantomBenchmark [RUNS] [OUTPUT_DIR]
import Foundation
import Imaging
import Phantom

let runs = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 3 : 3
let output = URL(fileURLWithPath: CommandLine.arguments.count > 2 ? CommandLine.arguments[2] : NSTemporaryDirectory())
    .appendingPathComponent("phantom-benchmark")

var renderTimes: [Double] = []
var writeTimes: [Double] = []
for run in 0..<runs {
    let patient = PhantomPatient(seed: UInt64(run + 1), number: 1, options: PhantomOptions(size: VolumeSize(256, 256, 120), spacing: Vector3(1.4, 1.4, 2.5)))
    let clock = ContinuousClock()
    let start = clock.now
    let study = patient.renderStudy(timepoint: 0)
    let rendered = clock.now
    try PhantomWriter.write(study, of: patient, to: output)
    let written = clock.now
    renderTimes.append((rendered - start) / .seconds(1))
    writeTimes.append((written - rendered) / .seconds(1))
}
try? FileManager.default.removeItem(at: output)

let median = { (values: [Double]) in values.sorted()[values.count / 2] }
print("| step | median s (of \(runs)) |")
print("| --- | ---: |")
print("| render 4 phases + labels | \(String(format: "%.2f", median(renderTimes))) |")
print("| write DICOM + NIfTI | \(String(format: "%.2f", median(writeTimes))) |")
print("| total | \(String(format: "%.2f", median(zip(renderTimes, writeTimes).map { $0 + $1 }))) |")
