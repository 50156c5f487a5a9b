// Reading and writing the safetensors format: an 8-byte little-endian header length, a JSON
// header mapping each tensor name to its dtype, shape and byte range, then the raw data.
import Foundation
import NeuralEngine

/// A safetensors file that cannot be read, with the reason.
public struct SafetensorsError: Error, CustomStringConvertible {
    public let description: String
}

public enum Safetensors {
    /// Writes Float32 tensors, sorted by name so the same tensors give the same bytes.
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to url: URL) throws {
        var header: [String: Any] = [:]
        var data = Data()
        for name in tensors.keys.sorted() {
            let tensor = tensors[name]!
            let start = data.count
            tensor.scalars.withUnsafeBytes { data.append(contentsOf: $0) }
            header[name] = ["dtype": "F32", "shape": tensor.shape, "data_offsets": [start, data.count]]
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // The header is padded with spaces to a multiple of 8 bytes, as the format recommends.
        while json.count % 8 != 0 { json.append(0x20) }
        var file = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(json)
        file.append(data)
        try file.write(to: url)
    }

    /// Reads the `__metadata__` strings of a file.
    public static func metadata(from url: URL) throws -> [String: String] {
        let file = try Data(contentsOf: url)
        guard file.count >= 8 else { throw SafetensorsError(description: "\(url.path): too short for a safetensors header") }
        let headerLength = file.prefix(8).withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        guard headerLength > 0, 8 + headerLength <= file.count,
              let header = try JSONSerialization.jsonObject(with: file.subdata(in: 8..<(8 + headerLength))) as? [String: Any] else {
            throw SafetensorsError(description: "\(url.path): invalid safetensors header")
        }
        return header["__metadata__"] as? [String: String] ?? [:]
    }

    /// Reads every tensor of a file; only F32 tensors are supported.
    public static func read(from url: URL) throws -> [String: Tensor] {
        let file = try Data(contentsOf: url)
        guard file.count >= 8 else { throw SafetensorsError(description: "\(url.path): \(file.count) bytes, too short for a safetensors header") }
        let headerLength = file.prefix(8).withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        guard headerLength > 0, 8 + headerLength <= file.count else {
            throw SafetensorsError(description: "\(url.path): header length \(headerLength) does not fit in \(file.count) bytes")
        }
        guard let header = try JSONSerialization.jsonObject(with: file.subdata(in: 8..<(8 + headerLength))) as? [String: Any] else {
            throw SafetensorsError(description: "\(url.path): the header is not a JSON object")
        }
        let dataStart = 8 + headerLength
        let dataBytes = file.count - dataStart
        var tensors: [String: Tensor] = [:]
        // In name order, so that a damaged file is reported the same way every time.
        for (name, value) in header.sorted(by: { $0.key < $1.key }) where name != "__metadata__" {
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2 else {
                throw SafetensorsError(description: "\(url.path): tensor '\(name)' has an invalid header entry")
            }
            guard dtype == "F32" else { throw SafetensorsError(description: "\(url.path): tensor '\(name)' is \(dtype); only F32 is supported") }
            let count = shape.reduce(1, *)
            guard offsets[0] >= 0, offsets[1] - offsets[0] == count * 4 else {
                throw SafetensorsError(description: "\(url.path): tensor '\(name)' of shape \(shape) takes \(count * 4) bytes, but its byte range \(offsets) spans \(offsets[1] - offsets[0])")
            }
            guard offsets[1] <= dataBytes else {
                throw SafetensorsError(description: "\(url.path): tensor '\(name)' ends at data byte \(offsets[1]), but the file has \(dataBytes) data bytes: it is truncated")
            }
            var scalars = [Float](repeating: 0, count: count)
            scalars.withUnsafeMutableBytes { target in
                _ = file.copyBytes(to: target, from: (dataStart + offsets[0])..<(dataStart + offsets[1]))
            }
            tensors[name] = Tensor(shape: shape, scalars: scalars)
        }
        return tensors
    }
}
