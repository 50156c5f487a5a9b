// Write-back of analyses and tracking: files returned with a result, the `track` job that
// follows every analysis, its inputs, and its outcome (tracks, events, categories, responses).
import Foundation

extension StudyStore {
    public static let trackKind = "track"

    /// Stores the files of a succeeded job (a label map, key images) as blobs named per job.
    public func storeResultFiles(job: Int64, files: [(name: String, data: Data, mediaType: String)]) throws {
        for file in files {
            let sha = try storeBlob(file.data, mediaType: file.mediaType)
            try connection.execute("""
                INSERT INTO result_files (job_id, name, sha256) VALUES ($1, $2, $3)
                ON CONFLICT (job_id, name) DO UPDATE SET sha256 = excluded.sha256
                """, [job, file.name, sha])
        }
    }

    /// Reads a file of the study's succeeded analysis; nil when there is none of that name.
    public func analysisFile(study: Int64, name: String) throws -> (job: Int64, data: Data)? {
        guard let row = try connection.execute("""
            SELECT f.job_id, f.sha256 FROM result_files f JOIN jobs j ON j.id = f.job_id
            WHERE j.study_id = $1 AND j.kind = 'analyze' AND j.state = 'succeeded' AND f.name = $2
            """, [study, name]).rows.first else { return nil }
        return (Int64(row[0]!)!, try readBlob(row[1]!))
    }

    /// Enqueues a `track` job for each patient with a newly succeeded analysis among `jobs`,
    /// unless one already waits: a waiting job reads the patient's studies when it is
    /// dispatched, so it covers the new analysis too. The patient is the serial key, so a
    /// patient's tracking never runs twice at once.
    public func enqueueTracking(afterJobs jobs: [Int64]) throws {
        guard !jobs.isEmpty else { return }
        let patients = try connection.execute("""
            SELECT DISTINCT s.patient_id FROM jobs j JOIN studies s ON s.id = j.study_id
            WHERE j.id = ANY ($1::bigint[]) AND j.kind = 'analyze' AND j.state = 'succeeded'
              AND NOT EXISTS (SELECT 1 FROM jobs t WHERE t.serial_key = 'track:' || s.patient_id AND t.state = 'queued')
            """, [PostgresArray(jobs.map(String.init))]).rows.map { $0[0]! }
        try JobQueue(connection: connection).enqueue(batch: patients.map { patient in
            NewJob(kind: Self.trackKind, payload: "{\"patient\": \(patient)}", serialKey: "track:\(patient)")
        })
    }

    /// Builds the payload a `track` job runs on: every study of the patient with a succeeded
    /// analysis, in date order, with its liver surface and lesions, and each lesion's stored
    /// track number, which the job keeps.
    public func trackInputs(patient: Int64) throws -> String {
        try connection.execute("""
            SELECT jsonb_build_object('patient', $1::bigint, 'studies', coalesce(jsonb_agg(jsonb_build_object(
                'study', s.id, 'date', s.study_date, 'liverSurface', coalesce(j.result -> 'liverSurface', '[]'),
                'lesions', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                'id', l.id, 'centroid', to_jsonb(l.centroid),
                                'maximumDiameterMillimetres', l.maximum_diameter_mm,
                                'longestAxialDiameterMillimetres', l.longest_axial_mm,
                                'viableAxialDiameterMillimetres', l.viable_axial_mm,
                                'features', l.features, 'track', t.number) ORDER BY l.lesion_index), '[]')
                            FROM lesions l LEFT JOIN lesion_tracks t ON t.id = l.track_id WHERE l.study_id = s.id))
                ORDER BY s.study_date NULLS LAST, s.id), '[]'))::text
            FROM studies s JOIN jobs j ON j.study_id = s.id AND j.kind = 'analyze' AND j.state = 'succeeded'
            WHERE s.patient_id = $1
            """, [patient]).scalar ?? "{\"patient\": \(patient), \"studies\": []}"
    }

    /// Writes the outcome of succeeded `track` jobs among `jobs`: track numbers (rows kept when
    /// they exist), each lesion's track, threshold growth and category, and the patient's events and
    /// responses, replacing earlier ones. Tracks no lesion uses any more are removed. A job with
    /// a later succeeded `track` job of its patient (a repeated result) writes nothing.
    public func storeTracking(ofJobs jobs: [Int64]) throws {
        guard !jobs.isEmpty else { return }
        let tracked = try connection.execute("""
            SELECT id, (payload ->> 'patient')::bigint FROM jobs j
            WHERE id = ANY ($1::bigint[]) AND kind = 'track' AND state = 'succeeded'
              AND NOT EXISTS (SELECT 1 FROM jobs later WHERE later.serial_key = j.serial_key AND later.state = 'succeeded' AND later.id > j.id)
            """, [PostgresArray(jobs.map(String.init))]).rows
        for row in tracked {
            let (job, patient) = (row[0]!, row[1]!)
            try connection.execute("""
                INSERT INTO lesion_tracks (patient_id, number)
                SELECT $2, number::integer FROM jobs, jsonb_array_elements_text(result -> 'tracks') AS number WHERE id = $1
                ON CONFLICT (patient_id, number) DO NOTHING
                """, [job, patient])
            try connection.execute("""
                UPDATE lesions l SET track_id = t.id, threshold_growth = o."thresholdGrowth", lirads_category = o.category
                FROM jobs j, jsonb_to_recordset(j.result -> 'lesions') AS o (lesion bigint, track integer, "thresholdGrowth" boolean, category text),
                     lesion_tracks t
                WHERE j.id = $1 AND l.id = o.lesion AND t.patient_id = $2 AND t.number = o.track
                """, [job, patient])
            try connection.execute("""
                DELETE FROM track_events WHERE study_id IN (SELECT id FROM studies WHERE patient_id = $1)
                """, [patient])
            try connection.execute("""
                INSERT INTO track_events (study_id, event, track_number, other_number)
                SELECT e.study, e.event, e.track, e.other
                FROM jobs j, jsonb_to_recordset(j.result -> 'events') AS e (study bigint, event text, track integer, other integer)
                WHERE j.id = $1
                """, [job])
            try connection.execute("""
                DELETE FROM response_assessments WHERE study_id IN (SELECT id FROM studies WHERE patient_id = $1)
                """, [patient])
            try connection.execute("""
                INSERT INTO response_assessments (study_id, criteria, category, sum_mm, baseline_sum_mm, nadir_sum_mm, new_lesion_tracks)
                SELECT (r ->> 'study')::bigint, a ->> 'criteria', a ->> 'category', (a ->> 'sumMillimetres')::double precision,
                       (a ->> 'baselineSumMillimetres')::double precision, (a ->> 'nadirSumMillimetres')::double precision,
                       ARRAY(SELECT jsonb_array_elements_text(a -> 'newLesionTracks')::integer)
                FROM jobs j, jsonb_array_elements(j.result -> 'responses') AS r, LATERAL (SELECT r -> 'assessment' AS a) AS assessment
                WHERE j.id = $1
                """, [job])
            try connection.execute("""
                DELETE FROM lesion_tracks t WHERE t.patient_id = $1 AND NOT EXISTS (SELECT 1 FROM lesions l WHERE l.track_id = t.id)
                """, [patient])
        }
    }
}
