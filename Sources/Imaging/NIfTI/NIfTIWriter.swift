// Writes volumes as NIfTI-1 or NIfTI-2, .nii or .nii.gz, with matching sform and qform.
import Foundation

/// Writes a `Volume` to a NIfTI file.
public enum NIfTIWriter {
    /// Writes a volume; a path ending in .gz is gzip-compressed.
    ///
    /// Float volumes are stored as float32 and labels as uint8 or uint16, without scaling. Both
    /// sform and qform are set (code 1, scanner anatomical) from the volume's LPS geometry, so
    /// readers that prefer either agree. The qform keeps only the rotation part, so a sheared
    /// direction matrix is exact only in the sform.
    ///
    /// - parameters:
    ///   - version: 1 for NIfTI-1 (348-byte header, at most 32767 voxels per axis) or 2 for
    ///     NIfTI-2 (540-byte header).
    ///   - description: up to 79 bytes of text for the `descrip` field.
    public static func write<Voxel: VoxelValue>(_ volume: Volume<Voxel>, to path: String, version: Int = 1, description: String = "") throws {
        guard version == 1 || version == 2 else {
            throw NIfTIError(file: path, reason: "NIfTI version \(version) does not exist; use 1 or 2")
        }
        let size = volume.geometry.size
        guard version == 2 || max(size.x, size.y, size.z) <= Int(Int16.max) else {
            throw NIfTIError(file: path, reason: "size \(size) exceeds NIfTI-1's 32767 voxels per axis; write NIfTI-2 (version: 2)")
        }
        var bytes = header(for: volume, version: version, description: description)
        volume.voxels.withUnsafeBytes { bytes.append(contentsOf: $0) }
        if path.hasSuffix(".gz") {
            // Level 1: noisy images hardly compress further, and higher levels cost several times the time.
            bytes = try bytes.withUnsafeBytes { try Zlib.deflate($0, format: .gzip, level: 1) }
        }
        guard let file = fopen(path, "wb") else {
            throw NIfTIError(file: path, reason: "cannot create the file: \(String(cString: strerror(errno)))")
        }
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        let writeError = errno
        // fclose flushes the last buffered bytes, so its failure is a write failure too.
        guard fclose(file) == 0, written == bytes.count else {
            throw NIfTIError(file: path, reason: "cannot write the file: \(String(cString: strerror(written == bytes.count ? errno : writeError)))")
        }
    }

    static func dataType<Voxel>(of type: Voxel.Type) -> NIfTIDataType {
        if type == UInt8.self { return .uint8 }
        if type == UInt16.self { return .uint16 }
        return .float32
    }

    private static func header<Voxel: VoxelValue>(for volume: Volume<Voxel>, version: Int, description: String) -> [UInt8] {
        let geometry = volume.geometry
        let type = dataType(of: Voxel.self)
        let dims = [3, geometry.size.x, geometry.size.y, geometry.size.z, 1, 1, 1, 1]
        let (quaternion, qfac) = geometry.rasQuaternion
        let pixdim = [qfac, geometry.spacing.x, geometry.spacing.y, geometry.spacing.z, 0, 0, 0, 0]
        let affine = geometry.rasAffine
        let text = Array(description.utf8.prefix(79))
        var w = HeaderWriter()

        if version == 2 {
            w.reserve(544)
            w.put(Int32(540), at: 0)
            w.putBytes(Array("n+2\0\r\n\u{1A}\n".utf8), at: 4)
            w.put(Int16(type.rawValue), at: 12)
            w.put(Int16(type.size * 8), at: 14)
            for (index, value) in dims.enumerated() { w.put(Int64(value), at: 16 + 8 * index) }
            for (index, value) in pixdim.enumerated() { w.put(value, at: 104 + 8 * index) }
            w.put(Int64(544), at: 168)
            w.put(1.0, at: 176)
            w.put(0.0, at: 184)
            w.putBytes(text, at: 240)
            w.put(Int32(1), at: 344)
            w.put(Int32(1), at: 348)
            for axis in 0..<3 { w.put(quaternion[axis], at: 352 + 8 * axis) }
            for axis in 0..<3 { w.put(affine[axis][3], at: 376 + 8 * axis) }
            for row in 0..<3 { for column in 0..<4 { w.put(affine[row][column], at: 400 + 32 * row + 8 * column) } }
            w.put(Int32(2), at: 500)  // millimetres
            return w.bytes
        }

        w.reserve(352)
        w.put(Int32(348), at: 0)
        for (index, value) in dims.enumerated() { w.put(Int16(value), at: 40 + 2 * index) }
        w.put(Int16(type.rawValue), at: 70)
        w.put(Int16(type.size * 8), at: 72)
        for (index, value) in pixdim.enumerated() { w.put(Float(value), at: 76 + 4 * index) }
        w.put(Float(352), at: 108)
        w.put(Float(1), at: 112)
        w.put(Float(0), at: 116)
        w.bytes[123] = 2  // millimetres
        w.putBytes(text, at: 148)
        w.put(Int16(1), at: 252)
        w.put(Int16(1), at: 254)
        for axis in 0..<3 { w.put(Float(quaternion[axis]), at: 256 + 4 * axis) }
        for axis in 0..<3 { w.put(Float(affine[axis][3]), at: 268 + 4 * axis) }
        for row in 0..<3 { for column in 0..<4 { w.put(Float(affine[row][column]), at: 280 + 16 * row + 4 * column) } }
        w.putBytes(Array("n+1\0".utf8), at: 344)
        return w.bytes
    }
}

/// Little endian header fields at fixed offsets.
private struct HeaderWriter {
    var bytes: [UInt8] = []

    mutating func reserve(_ count: Int) { bytes = [UInt8](repeating: 0, count: count) }

    mutating func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        withUnsafeBytes(of: value.littleEndian) { raw in
            for (index, byte) in raw.enumerated() { bytes[offset + index] = byte }
        }
    }

    mutating func put(_ value: Float, at offset: Int) { put(value.bitPattern, at: offset) }
    mutating func put(_ value: Double, at offset: Int) { put(value.bitPattern, at: offset) }

    mutating func putBytes(_ values: [UInt8], at offset: Int) {
        for (index, byte) in values.enumerated() { bytes[offset + index] = byte }
    }
}
