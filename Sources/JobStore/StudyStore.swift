// Storing submitted studies: the patient, the study, its series with their geometry, the
// volumes as content-addressed blobs, and the study's analyze job, all in one transaction.
import Foundation

/// One series of a submitted study.
public struct SeriesRecord: Codable, Sendable, Equatable {
    public var seriesInstanceUID: String
    /// NC, AP, PV or DP.
    public var phase: String
    public var description: String?
    /// Voxels along i, j, k.
    public var size: [Int]
    /// Spacing in mm along i, j, k.
    public var spacing: [Double]
    /// LPS position of the first voxel, in mm.
    public var origin: [Double]
    /// Direction cosines of i, j, k as columns, row-major (9 values).
    public var direction: [Double]

    public init(seriesInstanceUID: String, phase: String, description: String?, size: [Int], spacing: [Double], origin: [Double], direction: [Double]) {
        self.seriesInstanceUID = seriesInstanceUID
        self.phase = phase
        self.description = description
        self.size = size
        self.spacing = spacing
        self.origin = origin
        self.direction = direction
    }
}

/// A study as submitted: identifiers and series; each series' volume travels separately.
public struct StudyRecord: Codable, Sendable, Equatable {
    /// The hospital's Patient ID; stored to link studies, never logged.
    public var patientKey: String
    public var studyInstanceUID: String
    /// ISO date (YYYY-MM-DD), if known.
    public var studyDate: String?
    /// CT or MR.
    public var modality: String
    public var series: [SeriesRecord]

    public init(patientKey: String, studyInstanceUID: String, studyDate: String?, modality: String, series: [SeriesRecord]) {
        self.patientKey = patientKey
        self.studyInstanceUID = studyInstanceUID
        self.studyDate = studyDate
        self.modality = modality
        self.series = series
    }
}

/// The outcome of storing a study.
public struct StoredStudy: Sendable, Equatable {
    public let patientID: Int64
    public let studyID: Int64
    public let analyzeJobID: Int64
    /// False when the study was stored before; nothing was written again.
    public let inserted: Bool
    /// The phases of the stored series, in the order NC, AP, PV, DP. A study stored before keeps
    /// the series of its first submission.
    public let phases: [String]
}

/// An invalid submission, with what is wrong and where.
public struct SubmissionError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Stores studies and blobs on one connection.
public final class StudyStore {
    public static let analyzeKind = "analyze"
    /// The phase codes in acquisition order: non-contrast, arterial, portal venous, delayed.
    static let phaseOrder = ["NC", "AP", "PV", "DP"]
    /// Size of one `blob_chunks` row.
    public static let chunkSize = 1 << 20

    public let connection: Connection

    public init(connection: Connection) { self.connection = connection }

    /// Stores a study with its volumes (Float32, little endian, i fastest; one per series, in
    /// order) and enqueues its analyze job, all in one transaction.
    ///
    /// A study already stored is found by its Study Instance UID and returned unchanged, so a
    /// repeated submission makes one study and one job.
    ///
    /// - throws: ``SubmissionError`` for a study that is invalid or belongs to another patient.
    public func store(_ study: StudyRecord, volumes: [Data]) throws -> StoredStudy {
        try Self.validate(study, volumes: volumes)
        return try connection.transaction {
            let patientID = try Int64(connection.execute("""
                INSERT INTO patients (patient_key) VALUES ($1)
                ON CONFLICT (patient_key) DO UPDATE SET patient_key = EXCLUDED.patient_key
                RETURNING id
                """, [study.patientKey]).scalar!)!

            // Serialises concurrent submissions of one study: the second waits, then finds it.
            try connection.execute("SELECT pg_advisory_xact_lock(hashtext($1))", [study.studyInstanceUID])
            if let existing = try connection.execute("SELECT id, patient_id FROM studies WHERE study_instance_uid = $1",
                                                     [study.studyInstanceUID]).rows.first {
                guard Int64(existing[1]!) == patientID else {
                    throw SubmissionError("study \(study.studyInstanceUID) is already stored for another patient; check the Patient ID of this submission")
                }
                let studyID = Int64(existing[0]!)!
                let job = try JobQueue(connection: connection).enqueue(NewJob(kind: Self.analyzeKind, payload: "{\"study\": \(studyID)}",
                                                                              idempotencyKey: "analyze:\(study.studyInstanceUID)", studyID: studyID))
                let storedPhases = Set(try connection.execute("SELECT phase FROM series WHERE study_id = $1", [studyID]).rows.map { $0[0]! })
                let phases = Self.phaseOrder.filter(storedPhases.contains)
                return StoredStudy(patientID: patientID, studyID: studyID, analyzeJobID: job.id, inserted: false, phases: phases)
            }

            let studyID = try Int64(connection.execute("""
                INSERT INTO studies (patient_id, study_instance_uid, study_date, modality) VALUES ($1, $2, $3::date, $4) RETURNING id
                """, [patientID, study.studyInstanceUID, study.studyDate, study.modality]).scalar!)!
            for (series, volume) in zip(study.series, volumes) {
                let sha = try storeBlob(volume, mediaType: "application/x-stdnet-float32-volume")
                do {
                    try connection.execute("""
                        INSERT INTO series (study_id, series_instance_uid, phase, description, size, spacing, origin, direction, volume_sha256)
                        VALUES ($1, $2, $3, $4, $5::integer[], $6::double precision[], $7::double precision[], $8::double precision[], $9)
                        """, [studyID, series.seriesInstanceUID, series.phase, series.description, PostgresArray(series.size.map(String.init)),
                              PostgresArray(series.spacing.map { String($0) }), PostgresArray(series.origin.map { String($0) }),
                              PostgresArray(series.direction.map { String($0) }), sha])
                } catch let JobStoreError.server(sqlState, _, _) where sqlState == "23505" {
                    throw SubmissionError("series \(series.seriesInstanceUID) is already stored with another study")
                }
            }
            let job = try JobQueue(connection: connection).enqueue(NewJob(kind: Self.analyzeKind, payload: "{\"study\": \(studyID)}",
                                                                          idempotencyKey: "analyze:\(study.studyInstanceUID)", studyID: studyID))
            let phases = Self.phaseOrder.filter(Set(study.series.map(\.phase)).contains)
            return StoredStudy(patientID: patientID, studyID: studyID, analyzeJobID: job.id, inserted: true, phases: phases)
        }
    }

    /// Copies the lesions of succeeded analyze jobs from their results into the lesions table.
    /// Jobs of other kinds are ignored, and lesions stored before are left as they are.
    public func storeLesions(ofJobs jobs: [Int64]) throws {
        guard !jobs.isEmpty else { return }
        try connection.execute("""
            INSERT INTO lesions (study_id, job_id, lesion_index, volume_ml, longest_axial_mm, perpendicular_mm, maximum_diameter_mm,
                                 centroid, lirads_category, features, class_probabilities, viable_axial_mm)
            SELECT j.study_id, j.id, (l.ordinality - 1)::integer,
                   (l.value -> 'measurements' ->> 'volumeMillilitres')::double precision,
                   (l.value -> 'measurements' ->> 'longestAxialDiameterMillimetres')::double precision,
                   (l.value -> 'measurements' ->> 'perpendicularDiameterMillimetres')::double precision,
                   (l.value -> 'measurements' ->> 'maximumDiameterMillimetres')::double precision,
                   ARRAY(SELECT value::double precision FROM jsonb_array_elements_text(l.value -> 'measurements' -> 'centroid')),
                   l.value ->> 'category', l.value -> 'features', l.value -> 'classProbabilities',
                   (l.value ->> 'viableAxialDiameterMillimetres')::double precision
            FROM jobs j, jsonb_array_elements(j.result -> 'lesions') WITH ORDINALITY AS l (value, ordinality)
            WHERE j.id = ANY ($1::bigint[]) AND j.kind = 'analyze' AND j.state = 'succeeded' AND j.study_id IS NOT NULL
            ON CONFLICT (study_id, lesion_index) DO NOTHING
            """, [PostgresArray(jobs.map(String.init))])
    }

    /// Stores bytes once under their SHA-256 and returns the hash.
    public func storeBlob(_ data: Data, mediaType: String) throws -> String {
        let sha = sha256Hex(data)
        let inserted = try connection.execute("""
            INSERT INTO blobs (sha256, byte_count, media_type) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING RETURNING sha256
            """, [sha, data.count, mediaType])
        guard !inserted.rows.isEmpty else { return sha }
        var index = 0
        var offset = 0
        repeat {
            let end = min(offset + Self.chunkSize, data.count)
            try connection.execute("INSERT INTO blob_chunks (sha256, chunk_index, data) VALUES ($1, $2, $3::bytea)",
                                   [sha, index, ByteaHex(data.subdata(in: data.startIndex + offset..<data.startIndex + end))])
            index += 1
            offset = end
        } while offset < data.count
        return sha
    }

    /// Reads a blob back, checking its hash.
    public func readBlob(_ sha: String) throws -> Data {
        let rows = try connection.execute("SELECT data FROM blob_chunks WHERE sha256 = $1 ORDER BY chunk_index", [sha]).rows
        var data = Data()
        for row in rows { data.append(try decodeByteaHex(row[0]!)) }
        guard sha256Hex(data) == sha else { throw SubmissionError("blob \(sha) is missing or damaged in the database") }
        return data
    }

    /// Checks the parts of a submission that need no database.
    static func validate(_ study: StudyRecord, volumes: [Data]) throws {
        // First, because the messages below name the Study Instance UID.
        guard !containsControlCharacter(study.studyInstanceUID) else {
            throw SubmissionError("the Study Instance UID starting \(printablePrefix(study.studyInstanceUID)) contains a control character; DICOM UIDs are digits and dots")
        }
        if let problem = patientIDProblem(study.patientKey) {
            throw SubmissionError(study.patientKey.trimmingCharacters(in: .whitespaces).isEmpty
                ? "the study \(study.studyInstanceUID) has no Patient ID"
                : "the Patient ID of study \(study.studyInstanceUID) \(problem)")
        }
        guard study.studyInstanceUID.utf8.count <= 64 else {
            throw SubmissionError("the Study Instance UID starting \(study.studyInstanceUID.prefix(20)) has \(study.studyInstanceUID.utf8.count) characters; DICOM allows at most 64")
        }
        if let date = study.studyDate, !isCalendarDate(date) {
            throw SubmissionError("study \(study.studyInstanceUID) has a Study Date that is not a calendar date (YYYY-MM-DD); correct the Study Date (0008,0020) of its files, or the --study-date given with --nifti")
        }
        guard ["CT", "MR"].contains(study.modality) else {
            throw SubmissionError("study \(study.studyInstanceUID) has modality \(study.modality); only CT and MR are analysed")
        }
        guard study.series.count == volumes.count else {
            throw SubmissionError("study \(study.studyInstanceUID) lists \(study.series.count) series but carries \(volumes.count) volumes")
        }
        let phases = study.series.map(\.phase)
        guard Set(phases).count == phases.count else {
            throw SubmissionError("study \(study.studyInstanceUID) has more than one series for phase(s) \(Set(phases.filter { phase in phases.filter { $0 == phase }.count > 1 }).sorted().joined(separator: ", ")); map the phases explicitly")
        }
        guard study.series.count >= 2 else {
            throw SubmissionError("study \(study.studyInstanceUID) has only the \(phases.first ?? "no") phase; multiphase analysis needs at least two of NC, AP, PV, DP")
        }
        for (index, (series, volume)) in zip(study.series, volumes).enumerated() {
            guard !containsControlCharacter(series.seriesInstanceUID) else {
                throw SubmissionError("the Series Instance UID starting \(printablePrefix(series.seriesInstanceUID)) contains a control character; DICOM UIDs are digits and dots")
            }
            guard Self.phaseOrder.contains(series.phase) else {
                throw SubmissionError("series \(series.seriesInstanceUID) has phase '\(series.phase)'; expected NC, AP, PV or DP")
            }
            guard series.size.count == 3, series.spacing.count == 3, series.origin.count == 3, series.direction.count == 9,
                  series.size.allSatisfy({ $0 > 0 }), series.spacing.allSatisfy({ $0 > 0 }) else {
                throw SubmissionError("series \(series.seriesInstanceUID) has an invalid grid: size \(series.size), spacing \(series.spacing)")
            }
            let expected = series.size.reduce(1, *) * 4
            guard volume.count == expected else {
                throw SubmissionError("series \(series.seriesInstanceUID): volume has \(volume.count) bytes, its grid \(series.size) needs \(expected)")
            }
            if let twin = zip(study.series, volumes).prefix(index).first(where: { $0.1 == volume })?.0 {
                throw SubmissionError("series \(twin.seriesInstanceUID) (\(twin.phase)) and \(series.seriesInstanceUID) (\(series.phase)) have identical volumes; each phase needs the volume of its own acquisition")
            }
            let nonFinite = nonFiniteCount(volume)
            guard nonFinite == 0 else {
                throw SubmissionError("series \(series.seriesInstanceUID) (\(series.phase)): \(nonFinite) voxels are not finite numbers (NaN or infinity); check how the volume was made")
            }
        }
    }
}

/// Returns whether `text` is a valid Gregorian date in the form YYYY-MM-DD.
public func isCalendarDate(_ text: String) -> Bool {
    let parts = text.split(separator: "-", omittingEmptySubsequences: false)
    guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
          parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
          let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]) else { return false }
    let components = DateComponents(calendar: Calendar(identifier: .gregorian), timeZone: TimeZone(identifier: "UTC"), year: year, month: month, day: day)
    return year >= 1 && components.isValidDate
}

/// Returns how many of the little-endian Float32 values in `volume` are NaN or infinite.
func nonFiniteCount(_ volume: Data) -> Int {
    volume.withUnsafeBytes { bytes in
        var count = 0
        for index in 0..<bytes.count / 4 {
            let value = Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)))
            if !value.isFinite { count += 1 }
        }
        return count
    }
}

/// A bytea parameter in PostgreSQL's hex input format.
struct ByteaHex: SQLParameter {
    let data: Data
    init(_ data: Data) { self.data = data }

    var sqlText: String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var text = [UInt8](repeating: 0, count: 2 + data.count * 2)
        text[0] = UInt8(ascii: "\\")
        text[1] = UInt8(ascii: "x")
        for (index, byte) in data.enumerated() {
            text[2 + 2 * index] = digits[Int(byte >> 4)]
            text[3 + 2 * index] = digits[Int(byte & 0x0f)]
        }
        return String(decoding: text, as: UTF8.self)
    }
}

/// Decodes PostgreSQL's hex output format of bytea (`\x...`).
func decodeByteaHex(_ text: String) throws -> Data {
    let bytes = Array(text.utf8)
    guard bytes.count >= 2, bytes[0] == UInt8(ascii: "\\"), bytes[1] == UInt8(ascii: "x"), bytes.count % 2 == 0 else {
        throw SubmissionError("unexpected bytea output from the database")
    }
    func value(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "a") ? byte - UInt8(ascii: "a") + 10 : byte - UInt8(ascii: "0")
    }
    var data = Data(count: (bytes.count - 2) / 2)
    data.withUnsafeMutableBytes { target in
        for index in 0..<target.count {
            target[index] = value(bytes[2 + 2 * index]) << 4 | value(bytes[3 + 2 * index])
        }
    }
    return data
}

/// Returns true when the text contains a control character (Unicode category Cc, NUL included),
/// ESC aside when `allowingEscape`, as DICOM's LO allows it for ISO 2022 character sets.
public func containsControlCharacter(_ text: String, allowingEscape: Bool = false) -> Bool {
    text.unicodeScalars.contains { $0.properties.generalCategory == .control && !(allowingEscape && $0 == "\u{1B}") }
}

/// Returns the text up to its first control character, at most 20 characters, for a message.
private func printablePrefix(_ text: String) -> String {
    String(text.unicodeScalars.prefix { $0.properties.generalCategory != .control }.prefix(20))
}

/// Returns what makes a Patient ID unfit to store, as the end of a sentence about it, or nil.
/// No message repeats the value, which identifies a patient.
public func patientIDProblem(_ patientID: String) -> String? {
    let trimmed = patientID.trimmingCharacters(in: .whitespaces)
    if trimmed.isEmpty { return "is empty" }
    // DICOM pads values with trailing spaces, and a key with them would be another patient.
    if trimmed != patientID { return "starts or ends with spaces; give it without them" }
    // libpq passes text parameters as C strings, which end at the first NUL, so "A\0B" would be
    // stored as patient A. DICOM's LO allows ESC, which ISO 2022 character sets use, and no
    // other control character.
    if containsControlCharacter(patientID, allowingEscape: true) || patientID.contains("\\") {
        return "contains a control character other than ESC, or a backslash, which DICOM does not allow in a Patient ID"
    }
    if patientID.count > 64 { return "has \(patientID.count) characters; DICOM allows at most 64" }
    return nil
}
