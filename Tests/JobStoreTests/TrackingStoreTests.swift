import Foundation
import JobStore
import Testing
import TestSupport

/// The write-back of tracking and the inputs of the next `track` job, on a real database.
@Suite struct TrackingStoreTests {
    /// Returns a study of an arterial and a portal venous series of 2 x 2 x 1 voxels.
    static func study(_ uid: String, date: String) -> StudyRecord {
        StudyRecord(patientKey: "tracking-store-patient", studyInstanceUID: uid, studyDate: date, modality: "CT", series: ["AP", "PV"].map { phase in
            SeriesRecord(seriesInstanceUID: "\(uid).\(phase)", phase: phase, description: nil, size: [2, 2, 1], spacing: [1, 1, 1],
                         origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1])
        })
    }

    static let analysisResult = """
        {"lesions": [{"measurements": {"volumeMillilitres": 1.5, "longestAxialDiameterMillimetres": 14, "perpendicularDiameterMillimetres": 12,
                                        "maximumDiameterMillimetres": 15, "centroid": [10, 20, 30]},
                      "category": "LR-3", "features": {}, "classProbabilities": [0.2, 0.2, 0.2, 0.2, 0.2]}]}
        """

    /// Runs the one claimable job of `kind` to success with `result` and returns its ID.
    static func complete(_ kind: String, result: String, queue: JobQueue) throws -> Int64 {
        let job = try #require(try queue.claim(owner: "test", lease: .seconds(60), kinds: [kind]).first)
        try queue.complete(job: job.id, attempt: job.attempt, owner: "test", result: result)
        return job.id
    }

    @Test func storedTrackNumberReachesNextTrackJob() throws {
        let connection = try Connection(conninfo: try TestDatabase.makeMigratedDatabase())
        let store = StudyStore(connection: connection)
        let queue = JobQueue(connection: connection)
        let stored = try store.store(Self.study("1.2.3.4", date: "2024-03-01"), volumes: [Data(count: 16), Data(repeating: 1, count: 16)])

        let analysis = try Self.complete(StudyStore.analyzeKind, result: Self.analysisResult, queue: queue)
        try store.storeLesions(ofJobs: [analysis])
        try store.enqueueTracking(afterJobs: [analysis])
        let lesion = try #require(try connection.execute("SELECT id FROM lesions WHERE study_id = $1", [stored.studyID]).scalar)

        // Before any tracking the lesion has no stored track.
        let firstInputs = try store.trackInputs(patient: stored.patientID)
        #expect(try Self.trackNumbers(in: firstInputs) == [nil])

        let tracking = """
            {"tracks": [7], "lesions": [{"lesion": \(lesion), "track": 7, "thresholdGrowth": false, "category": "LR-3"}],
             "events": [], "responses": []}
            """
        let trackJob = try Self.complete(StudyStore.trackKind, result: tracking, queue: queue)
        try store.storeTracking(ofJobs: [trackJob])

        // The next track job gets the number back, to keep it.
        let secondInputs = try store.trackInputs(patient: stored.patientID)
        #expect(try Self.trackNumbers(in: secondInputs) == [7])
    }

    /// Returns the `track` value of every lesion in a track job's payload, in study and lesion order.
    static func trackNumbers(in payload: String) throws -> [Int?] {
        struct Payload: Decodable {
            struct Study: Decodable { let lesions: [Lesion] }
            struct Lesion: Decodable { let track: Int? }
            let studies: [Study]
        }
        return try JSONDecoder().decode(Payload.self, from: Data(payload.utf8)).studies.flatMap { $0.lesions.map(\.track) }
    }
}
