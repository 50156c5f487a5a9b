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

extension Coordinator {
    /// Reads a patient's studies and lesions, and writes the read to the audit log in the same
    /// transaction.
    func history(_ request: HistoryRequest) throws -> Message {
        let connection = queue.connection
        return try connection.transaction {
            guard let patient = try connection.execute("SELECT id FROM patients WHERE patient_key = $1", [request.patientKey]).scalar else {
                // A lookup of an unknown patient is audited too, without the Patient ID asked for.
                try connection.execute("INSERT INTO audit_log (actor, action, detail) VALUES ($1, 'history', '{\"patientFound\": false}')",
                                       [request.user.isEmpty ? "unknown" : request.user])
                return .error(ErrorReply(request: request.request, message: "no studies stored for this patient"))
            }
            try connection.execute("INSERT INTO audit_log (actor, action, patient_id) VALUES ($1, 'history', $2)",
                                   [request.user.isEmpty ? "unknown" : request.user, patient])
            let studyRows = try connection.execute("""
                SELECT s.id, s.study_date::text, coalesce((SELECT state::text FROM jobs WHERE study_id = s.id AND kind = 'analyze'), 'none')
                FROM studies s WHERE s.patient_id = $1 ORDER BY s.study_date NULLS LAST, s.id
                """, [patient]).rows
            var studies: [StudyHistoryEntry] = []
            for row in studyRows {
                let lesions = try connection.execute("""
                    SELECT lesion_index, track_id, volume_ml, longest_axial_mm, perpendicular_mm, lirads_category
                    FROM lesions WHERE study_id = $1 ORDER BY lesion_index
                    """, [row[0]!]).rows.map {
                        LesionHistoryEntry(lesionIndex: Int($0[0]!)!, track: $0[1].flatMap(Int64.init), volumeMillilitres: Double($0[2]!)!,
                                           longestAxialMillimetres: Double($0[3]!)!, perpendicularMillimetres: Double($0[4]!)!, category: $0[5]!)
                    }
                studies.append(StudyHistoryEntry(study: Int64(row[0]!)!, studyDate: row[1], analysis: row[2]!, lesions: lesions))
            }
            logger.info("history read", ["patient": patient, "studies": studies.count])
            return .historyReply(HistoryReply(request: request.request, studies: studies))
        }
    }
}

extension Coordinator {
    /// Reads the patient of a `track` job's payload.
    func trackedPatient(_ payload: String) -> Int64? {
        struct TrackPayload: Decodable { let patient: Int64 }
        return try? JSONDecoder().decode(TrackPayload.self, from: Data(payload.utf8)).patient
    }
}
