// Generates DICOM UIDs from random UUIDs under the 2.25 root (PS3.5 B.2).
import Foundation

enum DicomUID {
    /// Returns a new UID "2.25." followed by a random 128-bit UUID as a decimal integer (at most 44 characters).
    static func generate() -> String {
        var digits = withUnsafeBytes(of: UUID().uuid) { Array($0) }
        var decimal: [Character] = []
        // Long division of the 16-byte big endian number by 10, one decimal digit at a time.
        while digits.contains(where: { $0 != 0 }) {
            var remainder = 0
            for index in digits.indices {
                let value = remainder * 256 + Int(digits[index])
                digits[index] = UInt8(value / 10)
                remainder = value % 10
            }
            decimal.append(Character(String(remainder)))
        }
        return "2.25." + (decimal.isEmpty ? "0" : String(decimal.reversed()))
    }
}
