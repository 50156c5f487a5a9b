// Study JSON files for `stdnet submit`: the patient, date, modality and the NIfTI volume of each
// phase, with paths relative to the file.
import Foundation
import Imaging

enum StudyDescription {
    /// The fields of a study JSON file.
    private struct Fields: Decodable {
        static let names = ["patient", "studyDate", "modality", "phases"]

        let patient: String
        let studyDate: String?
        let modality: String?
        let phases: [String: String]
    }

    /// Returns the field of a study JSON file that takes the place of a --nifti option.
    static func field(of option: String) -> String {
        switch option {
        case "--patient": "patient"
        case "--study-date": "studyDate"
        default: "modality"
        }
    }

    /// Reads the study JSON file at `path` and the NIfTI volume of each phase it names.
    static func read(_ path: String) throws -> StudyUpload {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw UsageError("the study description \(path) was not found")
        }
        guard !isFolder.boolValue else { throw UsageError("the study description \(path) is a folder, not a JSON file") }

        let contents: Data
        do {
            contents = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ClientError("cannot read the study description \(path): \(error.localizedDescription)")
        }

        let description: Fields
        do {
            description = try JSONDecoder().decode(Fields.self, from: contents)
        } catch let error as Swift.DecodingError {
            throw UsageError("\(path): \(describe(error))")
        }

        // Foundation's parsers silently keep one value of a repeated key.
        if let repeated = repeatedKey(in: contents) { throw UsageError("\(path): \(repeated) is given twice") }
        // A misspelt optional field would otherwise be dropped without a word.
        if let object = try? JSONSerialization.jsonObject(with: contents) as? [String: Any] {
            for key in object.keys.sorted() where !Fields.names.contains(key) {
                throw UsageError("\(path): unknown field '\(key)'; the fields are \(Fields.names.joined(separator: ", "))")
            }
        }

        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        var files: [Phase: String] = [:]
        for (code, file) in description.phases {
            guard let phase = Phase(code: code) else { throw UsageError("\(path): phase '\(code)' is not one of NC, AP, PV, DP") }
            // Phase codes are read in any letter case, so "NC" and "nc" are the same phase.
            guard files[phase] == nil else { throw UsageError("\(path): phase \(phase.rawValue) is given twice") }
            files[phase] = file.hasPrefix("/") ? file : folder.appendingPathComponent(file).path
        }

        return try StudyUpload(nifti: files, patientID: description.patient, studyDate: description.studyDate,
                               modality: description.modality ?? "CT", descriptionFile: path)
    }

    /// Returns the JSON text `data` in UTF-8, from UTF-8, UTF-16 or UTF-32 with or without a
    /// byte order mark (RFC 8259 and its predecessors allow all three). The first two characters
    /// of JSON text are ASCII, so the zero bytes among the first four give the encoding.
    private static func utf8(ofJSON data: Data) -> [UInt8]? {
        let head = [UInt8](data.prefix(4)) + [UInt8](repeating: 1, count: max(0, 4 - data.count))
        let encoding: String.Encoding
        switch (head[0], head[1], head[2], head[3]) {
        case (0xEF, 0xBB, 0xBF, _): return [UInt8](data.dropFirst(3))
        case (0xFF, 0xFE, 0, 0), (0, 0, 0xFE, 0xFF): encoding = .utf32
        case (0xFF, 0xFE, _, _), (0xFE, 0xFF, _, _): encoding = .utf16
        case (0, 0, 0, _): encoding = .utf32BigEndian
        case (_, 0, 0, 0): encoding = .utf32LittleEndian
        case (0, _, 0, _): encoding = .utf16BigEndian
        case (_, 0, _, 0): encoding = .utf16LittleEndian
        default: return [UInt8](data)
        }
        return String(data: data, encoding: encoding).map { Array($0.utf8) }
    }

    /// Returns the first key that an object in the JSON text `data` repeats, named with the keys
    /// of the objects that contain it ("phases.NC"), or nil. `data` must be valid JSON.
    private static func repeatedKey(in data: Data) -> String? {
        struct Container {
            let isObject: Bool
            let path: [String]
            // Scalars, not Strings: JSON keys "\u00e9" and "e\u0301" differ, but Swift's String
            // equality treats them as equal.
            var keys: Set<[Unicode.Scalar]> = []
            var lastKey: String?
            var expectsKey: Bool
        }
        guard let bytes = utf8(ofJSON: data) else { return nil }
        var open: [Container] = []
        var position = 0
        while position < bytes.count {
            switch bytes[position] {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let path = open.last.map { $0.path + ($0.lastKey.map { [$0] } ?? []) } ?? []
                let isObject = bytes[position] == UInt8(ascii: "{")
                open.append(Container(isObject: isObject, path: path, expectsKey: isObject))
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                guard !open.isEmpty else { return nil }
                open.removeLast()
            case UInt8(ascii: ","):
                if open.last?.isObject == true { open[open.count - 1].expectsKey = true }
            case UInt8(ascii: "\""):
                let start = position
                position += 1
                while position < bytes.count && bytes[position] != UInt8(ascii: "\"") {
                    position += bytes[position] == UInt8(ascii: "\\") ? 2 : 1
                }
                guard position < bytes.count else { return nil }
                guard var container = open.last, container.isObject, container.expectsKey else { break }
                // Decoded, so that escapes such as \u0043 compare as the letters they stand for.
                let key = (try? JSONSerialization.jsonObject(with: Data(bytes[start...position]), options: .fragmentsAllowed)) as? String ?? ""
                guard container.keys.insert(Array(key.unicodeScalars)).inserted else {
                    return (container.path + [key]).joined(separator: ".")
                }
                container.lastKey = key
                container.expectsKey = false
                open[open.count - 1] = container
            default:
                break
            }
            position += 1
        }
        return nil
    }

    /// Names the field and the mistake of a study description that does not decode.
    private static func describe(_ error: Swift.DecodingError) -> String {
        func field(_ path: [CodingKey]) -> String { path.map(\.stringValue).joined(separator: ".") }
        switch error {
        case .keyNotFound(let key, let context):
            return "\(field(context.codingPath + [key])) is missing"
        case .typeMismatch(_, let context) where context.codingPath.isEmpty, .valueNotFound(_, let context) where context.codingPath.isEmpty:
            return "expected a JSON object with patient and phases"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            // Every field is a string except phases, an object of strings.
            let isPhases = context.codingPath.map(\.stringValue) == ["phases"]
            let expected = isPhases ? "an object from phase codes (NC, AP, PV, DP) to NIfTI files" : "a string in quotes"
            return "\(field(context.codingPath)) expects \(expected)"
        case .dataCorrupted(let context):
            // Foundation's JSON decoder in this toolchain names no line or column for the mistake.
            return context.codingPath.isEmpty ? "not valid JSON" : "\(field(context.codingPath)) is invalid"
        @unknown default:
            return "\(error)"
        }
    }
}
