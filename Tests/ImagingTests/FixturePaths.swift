// Locations of the committed test fixtures and small helpers the tests share.
import CLibCrypto
import Foundation

enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func path(_ relative: String) -> String {
        root.appendingPathComponent(relative).path
    }

    /// The parsed REFERENCE.json of a fixture folder.
    static func reference(_ folder: String) throws -> [String: [String: Any]] {
        let data = try Data(contentsOf: root.appendingPathComponent(folder).appendingPathComponent("REFERENCE.json"))
        return try JSONSerialization.jsonObject(with: data) as? [String: [String: Any]] ?? [:]
    }
}

/// Returns the SHA-256 of `bytes` as lowercase hexadecimal.
func sha256Hex(_ bytes: [UInt8]) -> String {
    var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
    bytes.withUnsafeBufferPointer { input in
        _ = SHA256(input.baseAddress, input.count, &digest)
    }
    return digest.map { String(format: "%02x", $0) }.joined()
}

/// Creates a fresh empty folder under the temporary directory.
func makeTemporaryFolder(_ name: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("imaging-tests-\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
