// Writes phantom studies to disk: a DICOM series and a NIfTI volume per phase, the label maps,
// and a manifest with the ground truth.
import Foundation
import Imaging

/// The manifest of one study, written as manifest.json beside the images.
public struct StudyManifest: Codable, Sendable, Equatable {
    public let patientID: String
    public let studyInstanceUID: String
    public let studyDate: String
    public let timepoint: Int
    public let monthsFromFirstStudy: Double
    public let phases: [String]
    /// Breathing shift of each phase against the portal venous phase, in mm (LPS).
    public let phaseShiftsMillimetres: [String: [Double]]
    public let noiseHounsfieldUnits: Double
    public let lesions: [LesionTruth]
}

public enum PhantomWriter {
    static let descriptions: [Phase: String] = [
        .nonContrast: "ABD LIVER NON-CONTRAST", .arterial: "ABD LIVER LATE ARTERIAL",
        .portalVenous: "ABD LIVER PORTAL VENOUS", .delayed: "ABD LIVER DELAYED 3 MIN",
    ]
    /// Seconds after the non-contrast scan at which each phase is acquired.
    static let acquisitionOffsets: [Phase: Int] = [.nonContrast: 0, .arterial: 100, .portalVenous: 130, .delayed: 240]

    /// Writes one study into `folder`: dicom/PHASE/, nifti/PHASE.nii, labels.nii.gz,
    /// lesions.nii.gz and manifest.json. Returns the manifest.
    @discardableResult
    public static func write(_ study: PhantomStudy, of patient: PhantomPatient, to folder: URL) throws -> StudyManifest {
        let fileManager = FileManager.default
        try fileManager.createDirectory(at: folder.appendingPathComponent("nifti"), withIntermediateDirectories: true)

        let patientID = "PHANTOM-\(patient.seed)-\(String(format: "%03d", patient.number))"
        let months = Double(study.timepoint) * patient.options.monthsBetweenStudies
        let studyDate = Self.studyDate(monthsAfterStart: months)
        // The fingerprint comes first and is at least 1, so the component has no leading zero.
        let fingerprint = 1 + patient.options.imageFingerprint % 999_999_999_999
        let uidRoot = "2.25.\(fingerprint)" + String(format: "%010llu%03d%02d", patient.seed % 1_000_000_007, patient.number, study.timepoint)
        let studyUID = "\(uidRoot).1"
        let frameUID = "\(uidRoot).2"

        for (order, phase) in Phase.allCases.enumerated() {
            guard let image = study.phases[phase] else { continue }
            let seriesUID = "\(uidRoot).3.\(order + 1)"
            let seconds = 9 * 3600 + 30 * 60 + acquisitionOffsets[phase]!
            let attributes = CTSeriesAttributes(
                patientName: "PHANTOM^\(String(format: "%03d", patient.number))", patientID: patientID,
                studyInstanceUID: studyUID, seriesInstanceUID: seriesUID, frameOfReferenceUID: frameUID,
                studyDate: studyDate, studyTime: "093000", seriesNumber: order + 1, seriesDescription: descriptions[phase]!,
                acquisitionTime: String(format: "%02d%02d%02d", seconds / 3600, (seconds / 60) % 60, seconds % 60),
                contrastAgent: phase == .nonContrast ? nil : (patient.options.mriLike ? "GADOXETATE" : "IOHEXOL 350"),
                modality: patient.options.mriLike ? .mr : .ct)
            try CTSeriesWriter.write(image, attributes: attributes, to: folder.appendingPathComponent("dicom/\(phase.rawValue)").path,
                                     instanceUID: { "\(seriesUID).\($0 + 1)" })
            // Uncompressed: noisy Float32 images shrink little under deflate, which would
            // take longer than rendering them.
            try NIfTIWriter.write(image, to: folder.appendingPathComponent("nifti/\(phase.rawValue).nii").path,
                                  description: descriptions[phase]!)
        }
        try NIfTIWriter.write(study.labels, to: folder.appendingPathComponent("labels.nii.gz").path,
                              description: "0 background, 1 liver, 2 lesion")
        try NIfTIWriter.write(study.lesionInstances, to: folder.appendingPathComponent("lesions.nii.gz").path,
                              description: "lesion ID per voxel")

        let manifest = StudyManifest(
            patientID: patientID, studyInstanceUID: studyUID, studyDate: studyDate, timepoint: study.timepoint,
            monthsFromFirstStudy: months, phases: Phase.allCases.filter { study.phases[$0] != nil }.map(\.rawValue),
            phaseShiftsMillimetres: Dictionary(uniqueKeysWithValues: study.phaseShifts.map { ($0.key.rawValue, [$0.value.x, $0.value.y, $0.value.z]) }),
            noiseHounsfieldUnits: study.noiseHounsfieldUnits, lesions: study.lesions)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(manifest).write(to: folder.appendingPathComponent("manifest.json"))
        return manifest
    }

    /// Returns the study date, months after 5 January 2026, as a DICOM DA value.
    static func studyDate(monthsAfterStart months: Double) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let start = calendar.date(from: DateComponents(year: 2026, month: 1, day: 5))!
        let date = calendar.date(byAdding: .day, value: Int((months * 30.44).rounded()), to: start)!
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d%02d%02d", parts.year!, parts.month!, parts.day!)
    }
}
