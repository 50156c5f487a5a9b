// Study submissions at the coordinator: checked, stored with their volumes and enqueued for
// analysis in one transaction.
import Foundation
import JobStore
import Wire

extension Coordinator {
    func submitStudy(_ submission: SubmitStudy, attachments: [Attachment], from client: Data) throws {
        var volumes: [Data] = []
        for series in submission.series {
            guard let attachment = attachments.first(where: { $0.name == series.seriesInstanceUID }) else {
                reply(.error(ErrorReply(request: submission.request, message: "series \(series.seriesInstanceUID) has no volume attached")), to: client)
                return
            }
            volumes.append(attachment.data)
        }
        let record = StudyRecord(
            patientKey: submission.patientKey, studyInstanceUID: submission.studyInstanceUID, studyDate: submission.studyDate,
            modality: submission.modality,
            series: submission.series.map {
                SeriesRecord(seriesInstanceUID: $0.seriesInstanceUID, phase: $0.phase, description: $0.description,
                             size: $0.size, spacing: $0.spacing, origin: $0.origin, direction: $0.direction)
            })
        do {
            let stored = try studies.store(record, volumes: volumes)
            if stored.inserted { workMayBeQueued = true }
            logger.info(stored.inserted ? "study stored" : "study already stored",
                        ["study": stored.studyID, "patient": stored.patientID, "job": stored.analyzeJobID, "series": submission.series.count])
            reply(.studySubmitted(StudySubmitted(request: submission.request, study: stored.studyID, job: stored.analyzeJobID,
                                                 alreadyStored: !stored.inserted)), to: client)
        } catch let error as SubmissionError {
            // The reason names DICOM UIDs, which can identify a patient: it goes to the client only.
            logger.warning("study submission rejected", ["series": submission.series.count])
            reply(.error(ErrorReply(request: submission.request, message: error.description)), to: client)
        }
    }
}

extension Coordinator {
    /// Reads the payload and attachments of an analyze job: every series' phase and grid, and its
    /// volume (Float32, little endian, i fastest) as an attachment named by the phase.
    func analyzeInputs(study: Int64) throws -> (payload: String, attachments: [Attachment]) {
        let rows = try queue.connection.execute("""
            SELECT phase, array_to_json(size), array_to_json(spacing), array_to_json(origin), array_to_json(direction), volume_sha256,
                   (SELECT modality FROM studies WHERE id = $1)
            FROM series WHERE study_id = $1 ORDER BY phase
            """, [study]).rows
        var series: [String] = []
        var attachments: [Attachment] = []
        for row in rows {
            series.append("{\"phase\": \"\(row[0]!)\", \"size\": \(row[1]!), \"spacing\": \(row[2]!), \"origin\": \(row[3]!), \"direction\": \(row[4]!)}")
            attachments.append(Attachment(name: row[0]!, data: try studies.readBlob(row[5]!)))
        }
        let modality = rows.first?[6] ?? "CT"
        return ("{\"study\": \(study), \"modality\": \"\(modality)\", \"series\": [\(series.joined(separator: ", "))]}", attachments)
    }
}
