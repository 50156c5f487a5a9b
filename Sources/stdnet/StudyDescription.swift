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
