// PNG file layout (ISO/IEC 15948, W3C PNG 2nd edition): the signature, then IHDR, IDAT and
// IEND chunks, each with a big-endian length and a CRC-32 of its type and data.
import CZlib

extension PNGImage {
    /// The eight bytes that start every PNG file.
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    /// The maximum chunk data length PNG allows, 2^31 - 1 bytes. Longer image data spans several IDAT chunks.
    static let maximumChunkLength = Int(Int32.max)

    /// Encodes the image as a PNG file: 8-bit samples, no interlacing, filter type None on every
    /// row, and the image data deflated by zlib's `compress2` at `compressionLevel` (0-9).
    ///
    /// - throws: `ReportError` when `compressionLevel` is outside 0-9 or zlib runs out of memory.
    public func encoded(compressionLevel: Int32 = 6) throws -> [UInt8] {
        guard (0...9).contains(compressionLevel) else {
            throw ReportError("invalid PNG compression level \(compressionLevel). zlib levels run from 0 (none) to 9 (smallest)")
        }
        var header: [UInt8] = []
        header.appendBigEndian(UInt32(width))
        header.appendBigEndian(UInt32(height))
        // Bit depth 8, then compression method 0, filter method 0 and interlace method 0.
        header += [8, colourType.rawValue, 0, 0, 0]

        let compressed = try Self.compress(filteredRows(), level: compressionLevel)

        var file = Self.signature
        Self.appendChunk("IHDR", header[...], to: &file)
        var start = 0
        repeat {
            let end = min(start + Self.maximumChunkLength, compressed.count)
            Self.appendChunk("IDAT", compressed[start..<end], to: &file)
            start = end
        } while start < compressed.count
        Self.appendChunk("IEND", [][...], to: &file)
        return file
    }

    /// Returns the rows as the encoder filters them: each row starts with filter type 0 (None).
    private func filteredRows() -> [UInt8] {
        let rowLength = width * colourType.samplesPerPixel
        var rows: [UInt8] = []
        rows.reserveCapacity(height * (rowLength + 1))
        for y in 0..<height {
            rows.append(0)
            rows += samples[(y * rowLength)..<((y + 1) * rowLength)]
        }
        return rows
    }

    /// Deflates `data` into a zlib stream (RFC 1950), the format IDAT data takes.
    private static func compress(_ data: [UInt8], level: Int32) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: Int(compressBound(UInt(data.count))))
        var outputLength = UInt(output.count)
        let status = output.withUnsafeMutableBufferPointer { outputBuffer in
            data.withUnsafeBufferPointer { inputBuffer in
                compress2(outputBuffer.baseAddress, &outputLength, inputBuffer.baseAddress, UInt(inputBuffer.count), level)
            }
        }
        guard status == Z_OK else {
            throw ReportError("zlib compress2 failed with status \(status) on \(data.count) bytes of PNG image data")
        }
        output.removeSubrange(Int(outputLength)...)
        return output
    }

    /// Appends one chunk: length, type, data, and the CRC-32 of type and data.
    private static func appendChunk(_ type: String, _ data: ArraySlice<UInt8>, to file: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        file.appendBigEndian(UInt32(data.count))
        var crc = typeBytes.withUnsafeBufferPointer { crc32_z(0, $0.baseAddress, $0.count) }
        // zlib returns the initial CRC for a null buffer, so empty data (IEND) must skip the call.
        if !data.isEmpty {
            crc = data.withUnsafeBufferPointer { crc32_z(crc, $0.baseAddress, $0.count) }
        }
        file += typeBytes
        file += data
        file.appendBigEndian(UInt32(crc))
    }
}

extension [UInt8] {
    /// Appends `value` most significant byte first, as PNG stores all integers.
    mutating func appendBigEndian(_ value: UInt32) {
        append(contentsOf: [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)])
    }
}
