// Reads the Siemens CSA image header (private element (0029,xx10), format "SV10"). It contains
// mosaic attributes that no standard attribute carries.
import Foundation

/// The elements of a Siemens CSA header, by name, each a list of text items.
struct SiemensCSAHeader {
    private(set) var elements: [String: [String]] = [:]

    /// Reads the CSA image header of a data set, or returns nil when it has none or it is not SV10.
    ///
    /// The layout is little endian. A 16-byte header ("SV10", 4 bytes, element count, 4 bytes)
    /// comes first. Each element has a 64-byte name, VM, a 4-byte VR, SyngoDT, an item count and
    /// 4 more bytes. Each item has four int32, the second being the value length, then the value
    /// padded to a multiple of 4.
    init?(_ dataSet: DataSet) {
        guard let element = dataSet.privateElement(DicomTag(0x0029, 0x1010), creator: "SIEMENS CSA HEADER") else { return nil }
        let bytes = Array(element.bytes)
        guard bytes.count >= 16, bytes[0..<4].elementsEqual("SV10".utf8) else { return nil }
        func int32(_ offset: Int) -> Int? {
            guard offset >= 0, offset + 4 <= bytes.count else { return nil }
            return Int(Int32(bitPattern: UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24))
        }
        guard let count = int32(8), count >= 0, count <= 1000 else { return nil }

        var position = 16
        for _ in 0..<count {
            guard position + 84 <= bytes.count, let itemCount = int32(position + 76), itemCount >= 0, itemCount <= 10_000 else { return nil }
            let name = String(decoding: bytes[position..<(position + 64)].prefix { $0 != 0 }, as: UTF8.self)
            position += 84
            var items: [String] = []
            for _ in 0..<itemCount {
                guard let length = int32(position + 4), length >= 0, position + 16 + length <= bytes.count else { return nil }
                let text = String(decoding: bytes[(position + 16)..<(position + 16 + length)].prefix { $0 != 0 }, as: UTF8.self)
                items.append(text.trimmingCharacters(in: .whitespaces))
                position += 16 + (length + 3) / 4 * 4
            }
            elements[name] = items.filter { !$0.isEmpty }
        }
    }

    /// Returns the numeric items of an element, or nil when it is absent or not numeric.
    func numbers(_ name: String) -> [Double]? {
        guard let items = elements[name], !items.isEmpty else { return nil }
        let values = items.compactMap(Double.init)
        return values.count == items.count ? values : nil
    }
}
