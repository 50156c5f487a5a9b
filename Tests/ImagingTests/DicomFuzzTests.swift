// Random byte corruption of real files must end in an error or a result, never a crash.
import Foundation
import Testing
@testable import Imaging

struct DicomFuzzTests {
    /// A small deterministic generator (SplitMix64), so a failure repeats.
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test("corrupted file never crashes", arguments: MalformedDicomTests.truncationSources + ["eCT_Supplemental.dcm", "liver.dcm"])
    func corruptedFileNeverCrashes(name: String) throws {
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("pydicom/" + name))))
        let headerEnd = try DicomFile(bytes: original, path: name).dataSet[.pixelData]?.offset ?? original.count
        var generator = SplitMix64(state: UInt64(name.utf8.reduce(0) { $0 &* 31 &+ UInt64($1) }))
        for _ in 0..<300 {
            var bytes = original
            // Most corruptions go to the header, where lengths, VRs and sequences are.
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let position = Int.random(in: 0..<min(headerEnd + 16, bytes.count), using: &generator)
                bytes[position] = UInt8.random(in: 0...255, using: &generator)
            }
            do {
                let file = try DicomFile(bytes: bytes, path: name)
                _ = try? ImageSlice.slices(of: file)
                _ = try file.storedPixels()
            } catch is DicomError {
            } catch {
                Issue.record("unexpected error type: \(error)")
            }
        }
    }
}
