// Gathers the multiphase studies under one or more folders: series grouped by study, their
// phases identified and their volumes assembled, ready to submit.
import Foundation

/// One study found on disk, with a volume per identified phase.
public struct CollectedStudy: Sendable {
    public let studyInstanceUID: String
    /// Patient ID as found in the files; identifying, so never logged.
    public let patientID: String
    /// Study Date as YYYY-MM-DD, if present.
    public let studyDate: String?
    public let modality: String
    public var series: [CollectedSeries]
    /// Series of the study with an identified phase whose files could not be read into a
    /// volume, with the reason: a study submitted without them cannot get them back later.
    public var unreadableSeries: [(seriesInstanceUID: String, phase: Phase, reason: String)] = []
}

/// One phase of a collected study.
public struct CollectedSeries: Sendable {
    public let attributes: SeriesAttributes
    public let phase: Phase
    /// The hint that decided the phase.
    public let evidence: String
    public let volume: Volume<Float>
    public let warnings: [String]
}

/// The studies found under the folders, and what was skipped.
public struct StudyCollection: Sendable {
    public var studies: [CollectedStudy] = []
    /// Files that are not DICOM images, or could not be read, with the reason.
    public var skippedFiles: [SkippedFile] = []
    /// Series left out of every study, with the reason (no phase, unreadable pixels, ...).
    public var skippedSeries: [(seriesInstanceUID: String, reason: String)] = []
}

/// An error that stops collection: the folders hold nothing to submit, or mix patients.
public struct CollectionError: Error, CustomStringConvertible {
    public let description: String
}

public enum StudyCollector {
    /// Collects the studies under `folders`.
    ///
    /// - parameters:
    ///   - phaseMapping: phases by Series Instance UID or Series Number; they win over every hint.
    ///   - progress: called after each series is read or skipped, with the number done so far
    ///     and the number of series in all the folders.
    /// - throws: ``CollectionError`` when no DICOM series is found, when the series of one
    ///   study name different patients, or when the files of one series do.
    public static func collect(_ folders: [String], phaseMapping: [String: Phase] = [:],
                               progress: (_ done: Int, _ total: Int) -> Void = { _, _ in }) throws -> StudyCollection {
        var collection = StudyCollection()
        var found: [DicomSeries] = []
        for folder in folders {
            let scan = try SeriesScanner.scan(folder)
            collection.skippedFiles += scan.skipped
            // A series under two of the folders (or a folder given twice) is one series, and the
            // assembler drops the files found twice.
            for series in scan.series {
                if let index = found.firstIndex(where: { $0.attributes.seriesInstanceUID == series.attributes.seriesInstanceUID }) {
                    // A folder given twice, or inside another one given, yields the same files again.
                    let known = Set(found[index].slices.map(\.source.path))
                    found[index].slices += series.slices.filter { !known.contains($0.source.path) }
                    if let attribute = SeriesScanner.differingIdentity(found[index].attributes, series.attributes) {
                        found[index].inconsistency = "the series under \(folder) has another \(attribute) than the one with the same Series Instance UID under an earlier folder"
                    }
                    found[index].inconsistency = found[index].inconsistency ?? series.inconsistency
                } else {
                    found.append(series)
                }
            }
        }
        guard !found.isEmpty else {
            throw CollectionError(description: "no DICOM image series found under \(folders.joined(separator: ", "))"
                + (collection.skippedFiles.isEmpty ? "" : " (\(collection.skippedFiles.count) file(s) skipped, e.g. \(collection.skippedFiles[0].path): \(collection.skippedFiles[0].reason))"))
        }

        // A series that mixes patients or studies stops the collection, as two series of one
        // study from different patients do below.
        if let mixed = found.first(where: { $0.inconsistency != nil }) {
            throw CollectionError(description: "series \(mixed.attributes.seriesNumber.map(String.init) ?? mixed.attributes.seriesInstanceUID): \(mixed.inconsistency!)")
        }
        let byStudy = Dictionary(grouping: found) { $0.attributes.studyInstanceUID ?? "" }
        var seriesRead = 0
        let seriesToRead = found.filter { !($0.attributes.studyInstanceUID ?? "").isEmpty }.count
        for studyUID in byStudy.keys.sorted() {
            let members = byStudy[studyUID]!
            guard !studyUID.isEmpty else {
                for series in members { collection.skippedSeries.append((series.attributes.seriesInstanceUID, "no Study Instance UID")) }
                continue
            }
            let patients = Set(members.map { $0.attributes.patientID ?? "" })
            guard patients.count == 1, let patientID = patients.first, !patientID.isEmpty else {
                // The series grouped by patient, largest group first, without the Patient IDs.
                let groups = Dictionary(grouping: members) { $0.attributes.patientID ?? "" }.values
                    .sorted { $0.count > $1.count }
                    .map { group in "(series " + group.map { $0.attributes.seriesNumber.map(String.init) ?? $0.attributes.seriesInstanceUID }.joined(separator: ", ") + ")" }
                let groupList = groups.dropLast().joined(separator: ", ") + " and " + (groups.last ?? "")
                throw CollectionError(description: patients.count > 1
                    ? "study \(studyUID) holds series of \(patients.count) different patients, split by Patient ID into \(groupList); submit each patient's series separately"
                    : "study \(studyUID) has no Patient ID; set it in the files, or convert the series to NIfTI with 'stdnet convert' and submit them with --patient")
            }

            let phases = PhaseIdentifier.identify(members.map { PhaseCandidate($0.attributes) }, userMapping: phaseMapping)
            var study = CollectedStudy(studyInstanceUID: studyUID, patientID: patientID,
                                       studyDate: members.first?.attributes.studyDate.flatMap(isoDate),
                                       modality: members.first?.attributes.modality ?? "", series: [])
            for series in members {
                let uid = series.attributes.seriesInstanceUID
                defer {
                    seriesRead += 1
                    progress(seriesRead, seriesToRead)
                }
                guard let assignment = phases[uid], let phase = assignment.phase else {
                    collection.skippedSeries.append((uid, "no contrast phase could be identified; give one with --phase"))
                    continue
                }
                do {
                    let assembled = try SeriesAssembler.assemble(series)
                    study.series.append(CollectedSeries(attributes: series.attributes, phase: phase, evidence: assignment.evidence,
                                                       volume: assembled.volume, warnings: assembled.warnings))
                } catch {
                    // The skipped series is listed by its UID, which a SeriesError names too.
                    let reason = (error as? SeriesError)?.reason ?? "\(error)"
                    collection.skippedSeries.append((uid, reason))
                    study.unreadableSeries.append((uid, phase, reason))
                }
            }
            collection.studies.append(study)
        }
        return collection
    }

    /// YYYYMMDD to YYYY-MM-DD.
    private static func isoDate(_ date: String) -> String? {
        let digits = date.filter(\.isNumber)
        guard digits.count == 8 else { return nil }
        return "\(digits.prefix(4))-\(digits.dropFirst(4).prefix(2))-\(digits.suffix(2))"
    }
}
