// SHA-256 through OpenSSL's libcrypto, for content-addressed blobs and migration checksums.
import CLibCrypto
import Foundation

/// Returns the SHA-256 digest of `data` as 64 lowercase hex digits.
public func sha256Hex(_ data: Data) -> String {
    var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
    data.withUnsafeBytes { bytes in
        _ = SHA256(bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, &digest)
    }
    return digest.map { String(format: "%02x", $0) }.joined()
}
