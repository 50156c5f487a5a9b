// A study ready to upload, from DICOM folders or from NIfTI files given per phase.
import Foundation
import Imaging
import JobStore

/// One study with a volume per phase, however it was read.
struct StudyUpload {
    struct Series {
        let seriesInstanceUID: String
        let phase: Phase
        let description: String?
        /// The evidence that decided the phase: a DICOM hint, or the user.
        let evidence: String
        let volume: Volume<Float>
    }

    let studyInstanceUID: String
    /// Identifying, so never printed or logged.
    let patientID: String
    /// YYYY-MM-DD.
    let studyDate: String?
    let modality: String
    let series: [Series]
    /// Phases whose DICOM series failed to read, so that the study lacks them.
    let unreadablePhases: [Phase]

    init(_ study: CollectedStudy) {
        studyInstanceUID = study.studyInstanceUID
        patientID = study.patientID
        studyDate = study.studyDate
        modality = study.modality
        series = study.series.map {
            Series(seriesInstanceUID: $0.attributes.seriesInstanceUID, phase: $0.phase, description: $0.attributes.seriesDescription,
                   evidence: $0.evidence, volume: $0.volume)
        }
        unreadablePhases = study.unreadableSeries.map(\.phase)
    }

    /// Reads one NIfTI volume per phase. NIfTI files carry no study identity, so the patient and
    /// date come from the user, and the UIDs are derived from the patient and the files' content
    /// (2.25 UUID-based form): submitting the same files for the same patient again finds the
    /// stored study.
    ///
    /// The modality is accepted in any letter case and stored as CT or MR. It and the date are
    /// checked before any volume is read, so that a mistake costs no upload. Messages name the
    /// study JSON file's fields when `descriptionFile` is given, else the options.
    init(nifti files: [Phase: String], patientID: String, studyDate: String?, modality: String, descriptionFile: String? = nil) throws {
        func source(_ option: String, _ field: String) -> String {
            descriptionFile.map { "\($0): \(field)" } ?? option
        }
        guard !patientID.trimmingCharacters(in: .whitespaces).isEmpty else {
            if let descriptionFile { throw UsageError("\(descriptionFile): patient is empty; give the Patient ID") }
            throw UsageError("NIfTI files carry no patient: give --patient ID")
        }
        // Checked here as the coordinator checks it, so that a mistake costs no upload.
        if let problem = patientIDProblem(patientID) {
            throw UsageError("the Patient ID of \(source("--patient", "patient")) \(problem)")
        }
        if let studyDate, !isCalendarDate(studyDate) {
            throw UsageError("\(source("--study-date", "studyDate")) expects a calendar date as YYYY-MM-DD, got '\(studyDate)'")
        }
        guard ["CT", "MR"].contains(modality.uppercased()) else {
            throw UsageError("\(source("--modality", "modality")) expects CT or MR, got '\(modality)'")
        }
        guard files.count >= 2 else {
            throw UsageError("\(source("--nifti", "phases")) gives \(files.count) phase(s); multiphase analysis needs at least two of NC, AP, PV, DP")
        }
        let evidence = descriptionFile.map { "given in \(URL(fileURLWithPath: $0).lastPathComponent)" } ?? "given with --nifti"
        var series: [Series] = []
        var contentHashes: [String] = []
        for phase in Phase.allCases {
            guard let path = files[phase] else { continue }
            let volume: Volume<Float>
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                throw ClientError("the \(phase.rawValue) volume \(path) was not found")
            }
            guard !isFolder.boolValue else {
                throw ClientError("the \(phase.rawValue) volume \(path) is a folder; give a NIfTI file (.nii or .nii.gz)")
            }
            let volumeCount: Int
            do {
                let image = try NIfTIImage(contentsOf: path)
                volumeCount = image.header.volumeCount
                volume = try image.volume()
                // nibabel's fallback grid, which the reader follows, places the volume nowhere in
                // particular and reads a voxel size of 0 as 1 mm.
                if image.header.sformCode <= 0 && image.header.qformCode <= 0 {
                    let zeroSizes = (1...3).filter { image.header.pixdim[$0] == 0 }
                    print("warning: the \(phase.rawValue) volume \(path) has neither an sform nor a qform, so its grid is centred on the origin"
                          + (zeroSizes.isEmpty ? "" : " and its voxel size \(zeroSizes.map { "pixdim[\($0)]" }.joined(separator: ", ")) of 0 is taken as 1 mm")
                          + "; check that the volumes' geometry is what the study had")
                }
            } catch {
                // A NIfTIError names the file too, so only its reason follows the path here.
                throw ClientError("cannot read the \(phase.rawValue) volume \(path): \((error as? NIfTIError)?.reason ?? "\(error)")")
            }
            guard volumeCount == 1 else {
                throw ClientError("the \(phase.rawValue) volume \(path) contains \(volumeCount) volumes (a 4D file); give one 3D volume per phase")
            }
            let hash = sha256Hex(volume.voxels.withUnsafeBytes { Data($0) })
            if let twin = zip(series, contentHashes).first(where: { $0.1 == hash })?.0 {
                throw ClientError("the \(twin.phase.rawValue) and \(phase.rawValue) volumes are identical; give each phase the volume of its own acquisition")
            }
            contentHashes.append(hash)
            // The patient and phase are part of the series UID, so that the same volume given for
            // another patient or phase is another series.
            let seriesUID = Self.uid(fromHex: sha256Hex(Data((patientID + phase.rawValue + hash).utf8)))
            series.append(Series(seriesInstanceUID: seriesUID, phase: phase, description: URL(fileURLWithPath: path).lastPathComponent,
                                 evidence: evidence, volume: volume))
        }
        self.studyInstanceUID = Self.uid(fromHex: sha256Hex(Data((patientID + contentHashes.joined()).utf8)))
        self.patientID = patientID
        self.studyDate = studyDate
        self.modality = modality.uppercased()
        self.series = series
        unreadablePhases = []
    }

    /// Builds a UID under the 2.25 root from the first 128 bits of a hex digest.
    static func uid(fromHex hex: String) -> String {
        "2.25." + String(UInt128(hex.prefix(32), radix: 16)!)
    }
}
