// Random corruption of NIfTI headers must end in an error or a volume, never a crash.
import Foundation
import Testing
@testable import Imaging

struct NIfTIFuzzTests {
    @Test("corrupted header never crashes", arguments: ["nifti/anatomical.nii", "nifti/functional.nii"])
    func corruptedHeaderNeverCrashes(name: String) throws {
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path(name))))
        var generator = DicomFuzzTests.SplitMix64(state: 7)
        let folder = try makeTemporaryFolder("nifti-fuzz")
        let path = folder.appendingPathComponent("fuzz.nii").path
        for _ in 0..<200 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                bytes[Int.random(in: 0..<352, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do {
                _ = try NIfTIImage(contentsOf: path).volume()
            } catch is NIfTIError {
            } catch {
                Issue.record("unexpected error type: \(error)")
            }
        }
    }
}
