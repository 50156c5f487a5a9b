// Study submissions at the coordinator: checked, then stored with their volumes and enqueued for
// analysis in one transaction on the study-store thread (see BackgroundStudyStore).
import Foundation
import JobStore
import Wire

extension Coordinator {
    func submitStudy(_ submission: SubmitStudy, attachments: [Attachment], from client: Data) {
        guard let volumes = collectVolumes(submission, attachments: attachments, from: client) else { return }
        let record = StudyRecord(
            patientKey: submission.patientKey, studyInstanceUID: submission.studyInstanceUID, studyDate: submission.studyDate,
            modality: submission.modality,
            series: submission.series.map {
                SeriesRecord(seriesInstanceUID: $0.seriesInstanceUID, phase: $0.phase, description: $0.description,
                             size: $0.size, spacing: $0.spacing, origin: $0.origin, direction: $0.direction)
            })
        studyStore.store(record, volumes: volumes, for: submission, client: client)
    }

    /// Replies to every submission whose study has been stored, or rejected, since the last call.
    func replyToStoredStudies() {
        for outcome in studyStore.takeFinished() {
            let (submission, client) = (outcome.submission, outcome.client)
            switch outcome.result {
            case .success(let stored):
                if stored.inserted { workMayBeQueued = true }
                logger.info(stored.inserted ? "study stored" : "study already stored",
                            ["study": stored.studyID, "patient": stored.patientID, "job": stored.analyzeJobID, "series": submission.series.count])
                reply(.studySubmitted(StudySubmitted(request: submission.request, study: stored.studyID, job: stored.analyzeJobID,
                                                     alreadyStored: !stored.inserted, storedPhases: stored.phases)), to: client)
            case .failure(let error as SubmissionError):
                reject(submission, error.description, to: client)
            case .failure(let error):
                databaseErrors.report("storing a study failed", error)
                reply(.error(ErrorReply(request: submission.request, message: "request failed: \(error)")), to: client)
            }
        }
    }

    /// Replies to a rejected submission with ERROR. The reason names DICOM UIDs, which can
    /// identify a patient, so it goes to the client only and the log line has the upload ID and
    /// series count.
    private func reject(_ submission: SubmitStudy, _ reason: String, to client: Data) {
        logger.warning("study submission rejected", ["series": submission.series.count, "upload": submission.upload ?? "none"])
        reply(.error(ErrorReply(request: submission.request, message: reason)), to: client)
    }

    /// Collects each series' volume in request order, from the named upload or else from the
    /// attachments, or replies with ERROR and returns nil. The named upload is removed either way.
    private func collectVolumes(_ submission: SubmitStudy, attachments: [Attachment], from client: Data) -> [Data]? {
        func reject(_ reason: String) -> [Data]? {
            self.reject(submission, reason, to: client)
            return nil
        }

        guard let uploadID = submission.upload else {
            var volumes: [Data] = []
            for series in submission.series {
                guard let attachment = attachments.first(where: { $0.name == series.seriesInstanceUID }) else {
                    return reject("series \(series.seriesInstanceUID) has no volume attached")
                }
                volumes.append(attachment.data)
            }
            return volumes
        }

        let staged: [String: Data]
        do {
            staged = try uploads.take(uploadID)
        } catch {
            return reject(error.description)
        }
        guard attachments.isEmpty else {
            return reject("SUBMIT_STUDY names upload \(uploadID) and carries \(attachments.count) attachment(s); send the volumes either in parts or attached, not both")
        }
        var volumes: [Data] = []
        for series in submission.series {
            guard let volume = staged[series.seriesInstanceUID] else {
                return reject("series \(series.seriesInstanceUID) has no volume in upload \(uploadID)")
            }
            volumes.append(volume)
        }
        logger.info("upload submitted", ["upload": uploadID, "staged_bytes": staged.values.reduce(0) { $0 + $1.count }])
        return volumes
    }
}

extension Coordinator {
    /// Reads a patient's studies and lesions, and writes the read to the audit log in the same
    /// transaction.
    func history(_ request: HistoryRequest) throws -> Message {
        // PostgreSQL would compare the key only up to a NUL, and so find another patient. Stored
        // keys have no control character but ESC (StudyStore.validate).
        guard !containsControlCharacter(request.patientKey, allowingEscape: true) else {
            return .error(ErrorReply(request: request.request, message: "the Patient ID contains a control character other than ESC, which no stored Patient ID has"))
        }
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
            let studies = try connection.execute(Self.historyQuery, [patient]).scalar ?? "[]"
            let tracking = try connection.execute("""
                SELECT state::text FROM jobs WHERE serial_key = 'track:' || $1 ORDER BY id DESC LIMIT 1
                """, [patient]).scalar ?? "none"
            let entries = try JSONDecoder().decode([StudyHistoryEntry].self, from: Data(studies.utf8))
            logger.info("history read", ["patient": patient, "studies": entries.count])
            return .historyReply(HistoryReply(request: request.request, studies: entries, tracking: tracking))
        }
    }
}

extension Coordinator {
    /// Sends what `BackgroundReads` finished: analyze jobs with their volumes, and EXPORT replies.
    func deliverFinishedReads(stopping: Bool) {
        for outcome in reads.takeFinished() {
            switch outcome {
            case let .analyzeInputs(attempt, kind, worker, result):
                deliverAnalyzeInputs(attempt: attempt, kind: kind, worker: worker, result: result, stopping: stopping)
            case let .export(request, client, .success(export)):
                if case .exportReply = export.reply {
                    logger.info("analysis exported", ["study": request.study, "files": export.files.count])
                }
                reply(export.reply, attachments: export.files, to: client)
            case let .export(request, client, .failure(error)):
                databaseErrors.report("client request failed", error)
                reply(.error(ErrorReply(request: request.request, message: "request failed: \(error)")), to: client)
            }
        }
    }

    /// Reads the label map and key images of a study's analysis, and writes the read to the
    /// audit log in the same transaction. Runs on `BackgroundReads`' connection.
    static func export(_ request: ExportRequest, from store: StudyStore) throws -> (reply: Message, files: [Attachment]) {
        let connection = store.connection
        return try connection.transaction {
            let rows = try connection.execute("""
                SELECT s.patient_id, j.result -> 'labelGrid', j.id,
                       (SELECT a.state::text FROM jobs a WHERE a.study_id = s.id AND a.kind = 'analyze' ORDER BY a.id DESC LIMIT 1)
                FROM studies s
                LEFT JOIN jobs j ON j.study_id = s.id AND j.kind = 'analyze' AND j.state = 'succeeded'
                WHERE s.id = $1
                """, [request.study]).rows
            guard let row = rows.first else {
                return (.error(ErrorReply(request: request.request, message: "study \(request.study) not found")), [])
            }
            guard let job = row[2] else {
                // A dead or cancelled analysis will not finish; a queued or running one may.
                let state = row[3] ?? "none"
                let message = ["dead", "cancelled"].contains(state)
                    ? "the analysis of study \(request.study) is \(state), so it has no result to export; see 'stdnet status --study \(request.study)'"
                    : "study \(request.study) has no finished analysis yet; see 'stdnet status --study \(request.study)'"
                return (.error(ErrorReply(request: request.request, message: message)), [])
            }
            guard let gridText = row[1] else {
                return (.error(ErrorReply(request: request.request, message: "the analysis of study \(request.study) kept no label map (it ran before label maps were stored)")), [])
            }
            try connection.execute("INSERT INTO audit_log (actor, action, patient_id, detail) VALUES ($1, 'export', $2, $3::jsonb)",
                                   [request.user.isEmpty ? "unknown" : request.user, row[0]!, "{\"study\": \(request.study)}"])
            let grid = try JSONDecoder().decode(LabelGrid.self, from: Data(gridText.utf8))
            var files: [Attachment] = []
            for file in try connection.execute("SELECT name, sha256 FROM result_files WHERE job_id = $1 ORDER BY name", [job]).rows {
                files.append(Attachment(name: file[0]!, data: try store.readBlob(file[1]!)))
            }
            return (.exportReply(ExportReply(request: request.request, study: request.study, labelGrid: grid)), files)
        }
    }

    /// The patient's studies, oldest first, as the JSON of `[StudyHistoryEntry]`.
    static let historyQuery = """
        SELECT coalesce(jsonb_agg(jsonb_build_object(
            'study', s.id, 'studyDate', s.study_date, 'modality', s.modality,
            'phases', (SELECT coalesce(jsonb_agg(v.phase ORDER BY array_position(ARRAY['NC', 'AP', 'PV', 'DP'], v.phase)), '[]')
                FROM series v WHERE v.study_id = s.id),
            'analysis', coalesce((SELECT state::text FROM jobs WHERE study_id = s.id AND kind = 'analyze'), 'none'),
            'lesions', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'lesionIndex', l.lesion_index, 'track', t.number, 'volumeMillilitres', l.volume_ml,
                    'longestAxialMillimetres', l.longest_axial_mm, 'perpendicularMillimetres', l.perpendicular_mm,
                    'maximumDiameterMillimetres', l.maximum_diameter_mm, 'viableAxialMillimetres', l.viable_axial_mm,
                    'centroid', to_jsonb(l.centroid), 'category', l.lirads_category, 'thresholdGrowth', l.threshold_growth,
                    'features', (SELECT jsonb_object_agg(key, value #>> '{}') FROM jsonb_each(l.features)),
                    'classProbabilities', l.class_probabilities) ORDER BY l.lesion_index), '[]')
                FROM lesions l LEFT JOIN lesion_tracks t ON t.id = l.track_id WHERE l.study_id = s.id),
            'responses', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'criteria', r.criteria, 'category', r.category, 'sumMillimetres', r.sum_mm,
                    'baselineSumMillimetres', r.baseline_sum_mm, 'nadirSumMillimetres', r.nadir_sum_mm,
                    'newLesionTracks', to_jsonb(r.new_lesion_tracks)) ORDER BY r.criteria), '[]')
                FROM response_assessments r WHERE r.study_id = s.id),
            'events', (SELECT coalesce(jsonb_agg(jsonb_build_object('event', e.event, 'track', e.track_number, 'other', e.other_number)
                    ORDER BY e.event, e.track_number), '[]')
                FROM track_events e WHERE e.study_id = s.id))
            ORDER BY s.study_date NULLS LAST, s.id), '[]')::text
        FROM studies s WHERE s.patient_id = $1
        """

    /// Reads the patient of a `track` job's payload.
    func trackedPatient(_ payload: String) -> Int64? {
        struct TrackPayload: Decodable { let patient: Int64 }
        return try? JSONDecoder().decode(TrackPayload.self, from: Data(payload.utf8)).patient
    }
}
