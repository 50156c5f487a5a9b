// Inflate and deflate through zlib: raw deflate for DICOM, gzip for .nii.gz.
import CZlib

/// A zlib failure, with zlib's own message.
public struct ZlibError: Error, CustomStringConvertible, Sendable {
    /// What failed.
    public var description: String
}

/// The framing around deflate data.
enum DeflateFormat {
    /// Raw deflate (RFC 1951), as Deflated Explicit VR Little Endian stores the data set.
    case raw
    /// Gzip (RFC 1952), as in .nii.gz files; several concatenated members are read as one stream.
    case gzip

    var windowBits: Int32 {
        switch self {
        case .raw: return -MAX_WBITS
        case .gzip: return MAX_WBITS + 16
        }
    }
}

enum Zlib {
    /// Inflates `input` completely.
    ///
    /// - throws: `ZlibError` when the data is corrupt or ends before the end of the stream.
    static func inflate(_ input: ArraySlice<UInt8>, format: DeflateFormat, sizeHint: Int = 0) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: max(sizeHint, input.count * 4, 1024))
        var stream = z_stream()
        guard inflateInit2_(&stream, format.windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw ZlibError(description: "zlib inflateInit2 failed")
        }
        defer { inflateEnd(&stream) }

        var produced = 0
        var consumed = 0
        try input.withUnsafeBufferPointer { inputBuffer in
            while true {
                if produced == output.count {
                    output.append(contentsOf: [UInt8](repeating: 0, count: output.count))
                }
                let status: Int32 = output.withUnsafeMutableBufferPointer { outputBuffer in
                    stream.next_in = UnsafeMutablePointer(mutating: inputBuffer.baseAddress! + consumed)
                    stream.avail_in = UInt32(inputBuffer.count - consumed)
                    stream.next_out = outputBuffer.baseAddress! + produced
                    stream.avail_out = UInt32(min(outputBuffer.count - produced, Int(UInt32.max)))
                    let inBefore = stream.avail_in
                    let outBefore = stream.avail_out
                    let status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    consumed += Int(inBefore - stream.avail_in)
                    produced += Int(outBefore - stream.avail_out)
                    return status
                }
                if status == Z_STREAM_END {
                    // A gzip file may hold several members; continue with the next one.
                    guard format == .gzip, consumed < inputBuffer.count else { break }
                    guard inflateReset(&stream) == Z_OK else { throw ZlibError(description: "zlib inflateReset failed") }
                    continue
                }
                guard status == Z_OK || status == Z_BUF_ERROR else {
                    throw ZlibError(description: "corrupt deflate data after \(consumed) input bytes: " + message(stream))
                }
                if status == Z_BUF_ERROR && consumed == inputBuffer.count && produced < output.count {
                    throw ZlibError(description: "deflate data ends early after \(consumed) input bytes; the file is truncated")
                }
            }
        }
        output.removeSubrange(produced...)
        return output
    }

    /// Deflates `input` at compression level `level` (0-9).
    static func deflate(_ input: UnsafeRawBufferPointer, format: DeflateFormat, level: Int32 = 6) throws -> [UInt8] {
        var stream = z_stream()
        guard deflateInit2_(&stream, level, Z_DEFLATED, format.windowBits, 8, Z_DEFAULT_STRATEGY,
                            ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw ZlibError(description: "zlib deflateInit2 failed")
        }
        defer { deflateEnd(&stream) }

        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(input.count))) + 64)
        let status: Int32 = output.withUnsafeMutableBufferPointer { outputBuffer in
            stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: UInt8.self).baseAddress)
            stream.avail_in = UInt32(input.count)
            stream.next_out = outputBuffer.baseAddress
            stream.avail_out = UInt32(outputBuffer.count)
            return CZlib.deflate(&stream, Z_FINISH)
        }
        guard status == Z_STREAM_END else {
            throw ZlibError(description: "zlib deflate failed: " + message(stream))
        }
        output.removeSubrange(Int(stream.total_out)...)
        return output
    }

    private static func message(_ stream: z_stream) -> String {
        stream.msg.map { String(cString: $0) } ?? "no message"
    }
}
