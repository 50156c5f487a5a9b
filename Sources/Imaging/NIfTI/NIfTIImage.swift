// Reads .nii and .nii.gz files, NIfTI-1 or NIfTI-2, into volumes.
import Foundation

/// A NIfTI file read into memory: its header and the voxels, little endian.
public struct NIfTIImage: Sendable {
    /// The decoded header.
    public var header: NIfTIHeader
    /// All voxels of all volumes as stored, converted to little endian.
    public var data: [UInt8]
    /// The path read, for messages.
    public var path: String

    /// Reads a file; names ending in .gz are gunzipped first.
    ///
    /// - throws: `NIfTIError` naming the file when the header is invalid or the data is short.
    public init(contentsOf path: String) throws {
        guard var bytes = readFileBytes(path) else {
            throw NIfTIError(file: path, reason: "cannot read the file: \(fileReadFailure())")
        }
        if bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B {
            do {
                bytes = try Zlib.inflate(bytes[...], format: .gzip)
            } catch {
                throw NIfTIError(file: path, reason: "cannot gunzip: \(error)")
            }
        }
        let header = try NIfTIHeader(bytes: bytes, file: path)
        guard header.geometry.indexToWorldMatrix.inverse != nil else {
            throw NIfTIError(file: path, reason: "the voxel-to-world affine \(header.bestAffine) is singular (a zero voxel size or parallel axes)")
        }
        let count = header.voxelsPerVolume * header.volumeCount * header.datatype.size
        guard header.voxOffset >= 0, header.voxOffset <= bytes.count, count <= bytes.count - header.voxOffset else {
            throw NIfTIError(file: path, reason: "the header declares \(count) bytes of voxels from offset \(header.voxOffset), but the file has \(bytes.count) bytes; the file is truncated")
        }
        var data = Array(bytes[header.voxOffset..<(header.voxOffset + count)])
        if header.isByteSwapped && header.datatype.size > 1 {
            swapBytes(&data, width: header.datatype.size)
        }
        self.header = header
        self.data = data
        self.path = path
    }

    /// The grid of each 3D volume, in LPS.
    public var geometry: Geometry { header.geometry }

    /// Returns 3D volume `index` (0 for a 3D file) with scl_slope and scl_inter applied when set.
    public func volume(_ index: Int = 0) throws -> Volume<Float> {
        let slope = header.sclSlope.isNaN || header.sclSlope == 0 ? 1 : header.sclSlope
        let intercept = header.sclSlope.isNaN || header.sclSlope == 0 || header.sclInter.isNaN ? 0 : header.sclInter
        return try values(index) { Float($0 * slope + intercept) }
    }

    /// Returns 3D volume `index` as a label map of stored values, without scaling.
    ///
    /// - throws: `NIfTIError` when a value is not an integer in the label type's range.
    public func labels<Label: VoxelValue & FixedWidthInteger>(_ index: Int = 0, as type: Label.Type) throws -> Volume<Label> {
        var invalid: Double?
        let volume = try values(index) { value -> Label in
            if value != value.rounded() || value < Double(Label.min) || value > Double(Label.max) { invalid = value }
            return Label(clampingDouble: value)
        }
        if let invalid {
            throw NIfTIError(file: path, reason: "value \(invalid) does not fit a \(Label.self) label")
        }
        return volume
    }

    private func values<Voxel: VoxelValue>(_ index: Int, _ convert: (Double) -> Voxel) throws -> Volume<Voxel> {
        guard index >= 0, index < header.volumeCount else {
            throw NIfTIError(file: path, reason: "volume \(index) requested, the file has \(header.volumeCount)")
        }
        let count = header.voxelsPerVolume
        let type = header.datatype
        let voxels = data.withUnsafeBytes { raw in
            let start = index * count
            return (0..<count).map { convert(type.value(in: raw, at: start + $0)) }
        }
        return Volume(geometry: geometry, voxels: voxels)
    }
}
