// The NIfTI-1 (348-byte) and NIfTI-2 (540-byte) headers, decoded into one type.

/// A NIfTI error, naming the file and what was wrong.
public struct NIfTIError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var reason: String
    public var description: String { "\(file): \(reason)" }
}

/// The header fields this module uses, from either NIfTI version.
public struct NIfTIHeader: Sendable {
    /// 1 or 2.
    public var version: Int
    /// dim[0] is the number of dimensions, dim[1...7] their sizes.
    public var dim: [Int]
    public var datatype: NIfTIDataType
    /// pixdim[0] is qfac (the sign of the third qform axis), pixdim[1...3] the voxel sizes.
    public var pixdim: [Double]
    /// Byte offset of the first voxel in the uncompressed file.
    public var voxOffset: Int
    /// Slope and intercept applied to stored values; a slope of 0 or NaN means none.
    public var sclSlope: Double
    public var sclInter: Double
    public var qformCode: Int
    public var sformCode: Int
    /// quatern_b, quatern_c and quatern_d of the qform rotation.
    public var quaternion: Vector3
    /// qoffset_x, qoffset_y and qoffset_z: the qform's RAS position of voxel (0, 0, 0).
    public var qoffset: Vector3
    /// The sform rows, each (a, b, c, offset), mapping (i, j, k, 1) to RAS millimetres.
    public var srow: [[Double]]
    /// Units of pixdim: xyzt_units & 7 is 1 for metres, 2 for millimetres, 3 for micrometres.
    public var xyztUnits: Int
    public var description: String
    /// Whether the file's byte order is big endian, the opposite of this machine's.
    public var isByteSwapped: Bool

    /// Returns the size along dimension `axis` (1-7), which is 1 beyond dim[0].
    public func size(_ axis: Int) -> Int {
        axis <= dim[0] ? dim[axis] : 1
    }

    /// Voxels in one 3D volume.
    public var voxelsPerVolume: Int { size(1) * size(2) * size(3) }

    /// Number of 3D volumes (the product of dim[4...]).
    public var volumeCount: Int {
        guard dim[0] > 3 else { return 1 }
        return (4...dim[0]).reduce(1) { $0 * dim[$1] }
    }
}

extension NIfTIHeader {
    /// Decodes a header from the start of a file's (uncompressed) bytes.
    ///
    /// - throws: `NIfTIError` when the header size or magic is wrong or a field is out of range.
    init(bytes: [UInt8], file: String) throws {
        func fail(_ reason: String) -> NIfTIError { NIfTIError(file: file, reason: reason) }
        guard bytes.count >= 348 else { throw fail("the file is \(bytes.count) bytes, shorter than a NIfTI header") }
        let reader = HeaderReader(bytes: bytes)
        let sizeLittle = reader.int32(0, swapped: false)
        let sizeBig = reader.int32(0, swapped: true)
        let swapped: Bool
        switch (sizeLittle, sizeBig) {
        case (348, _), (540, _): swapped = false
        case (_, 348), (_, 540): swapped = true
        default: throw fail("sizeof_hdr is \(sizeLittle), neither 348 (NIfTI-1) nor 540 (NIfTI-2)")
        }
        let size = swapped ? sizeBig : sizeLittle
        var r = reader
        r.swapped = swapped

        let code: Int
        if size == 348 {
            version = 1
            let magic = Array(bytes[344..<348])
            guard magic == Array("n+1\0".utf8) || magic == Array("ni1\0".utf8) else {
                throw fail("magic is not 'n+1' or 'ni1'; this is an ANALYZE 7.5 file or not NIfTI")
            }
            dim = (0..<8).map { Int(r.int16(40 + 2 * $0)) }
            code = Int(r.int16(70))
            pixdim = (0..<8).map { Double(r.float32(76 + 4 * $0)) }
            let offset = r.float32(108)
            guard offset.isFinite, offset >= 0, offset < 1e9 else { throw fail("vox_offset \(offset) is invalid") }
            voxOffset = Int(offset)
            sclSlope = Double(r.float32(112))
            sclInter = Double(r.float32(116))
            xyztUnits = Int(bytes[123])
            description = r.text(148, 80)
            qformCode = Int(r.int16(252))
            sformCode = Int(r.int16(254))
            quaternion = Vector3(Double(r.float32(256)), Double(r.float32(260)), Double(r.float32(264)))
            qoffset = Vector3(Double(r.float32(268)), Double(r.float32(272)), Double(r.float32(276)))
            srow = (0..<3).map { row in (0..<4).map { Double(r.float32(280 + 16 * row + 4 * $0)) } }
        } else {
            version = 2
            guard bytes.count >= 540 else { throw fail("the file is \(bytes.count) bytes, shorter than a NIfTI-2 header") }
            guard Array(bytes[4..<7]) == Array("n+2".utf8) || Array(bytes[4..<7]) == Array("ni2".utf8) else {
                throw fail("magic is not 'n+2' or 'ni2'")
            }
            code = Int(r.int16(12))
            dim = (0..<8).map { Int(r.int64(16 + 8 * $0)) }
            pixdim = (0..<8).map { r.float64(104 + 8 * $0) }
            voxOffset = Int(r.int64(168))
            sclSlope = r.float64(176)
            sclInter = r.float64(184)
            description = r.text(240, 80)
            qformCode = Int(r.int32(344))
            sformCode = Int(r.int32(348))
            quaternion = Vector3(r.float64(352), r.float64(360), r.float64(368))
            qoffset = Vector3(r.float64(376), r.float64(384), r.float64(392))
            srow = (0..<3).map { row in (0..<4).map { r.float64(400 + 32 * row + 8 * $0) } }
            xyztUnits = Int(r.int32(500))
        }
        guard let type = NIfTIDataType(rawValue: code) else {
            throw fail("datatype \(code) is not supported (uint8, int8, int16, uint16, int32, uint32, int64, uint64, float32, float64)")
        }
        datatype = type
        isByteSwapped = swapped
        guard (1...7).contains(dim[0]), (1...dim[0]).allSatisfy({ dim[$0] >= 1 }) else {
            throw fail("dim \(dim) is invalid")
        }
        var total = type.size
        for axis in 1...dim[0] {
            let (product, overflow) = total.multipliedReportingOverflow(by: dim[axis])
            guard !overflow else { throw fail("dim \(dim) describes more bytes than this machine can address") }
            total = product
        }
    }
}

/// Reads header fields at fixed offsets, swapping bytes when the file's byte order differs.
private struct HeaderReader {
    let bytes: [UInt8]
    var swapped = false

    private func load<T: FixedWidthInteger>(_ offset: Int, _ type: T.Type) -> T {
        let value = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
        return swapped ? value.byteSwapped : value
    }

    func int16(_ offset: Int) -> Int16 { load(offset, Int16.self) }
    func int32(_ offset: Int, swapped: Bool) -> Int32 {
        let value = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: Int32.self) }
        return swapped ? value.byteSwapped : value
    }
    func int32(_ offset: Int) -> Int32 { load(offset, Int32.self) }
    func int64(_ offset: Int) -> Int64 { load(offset, Int64.self) }
    func float32(_ offset: Int) -> Float { Float(bitPattern: load(offset, UInt32.self)) }
    func float64(_ offset: Int) -> Double { Double(bitPattern: load(offset, UInt64.self)) }
    func text(_ offset: Int, _ count: Int) -> String {
        String(decoding: bytes[offset..<(offset + count)].prefix { $0 != 0 }, as: UTF8.self)
    }
}
