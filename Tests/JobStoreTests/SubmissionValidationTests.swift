import Foundation
import JobStore
import Testing
import TestSupport

/// Studies that `StudyStore.store` rejects before anything reaches the database.
@Suite struct SubmissionValidationTests {
    /// Returns a study of an arterial and a portal venous series of 2 x 2 x 1 voxels.
    static func study(patient: String = "validation-patient", date: String? = "2024-03-01") -> StudyRecord {
        StudyRecord(patientKey: patient, studyInstanceUID: "1.2.826.0.1.99", studyDate: date, modality: "CT", series: ["AP", "PV"].map { phase in
            SeriesRecord(seriesInstanceUID: "1.2.826.0.1.99.\(phase == "AP" ? 1 : 2)", phase: phase, description: nil, size: [2, 2, 1],
                         spacing: [1, 1, 1], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1])
        })
    }

    static func volume(_ values: [Float]) -> Data {
        values.withUnsafeBytes { Data($0) }
    }

    static let plain = volume([0, 10, 20, 30])
    static let other = volume([5, 15, 25, 35])

    /// Stores `study` and returns the rejection's message, or nil when it was stored.
    static func rejection(_ study: StudyRecord, volumes: [Data], store: StudyStore) throws -> String? {
        do {
            _ = try store.store(study, volumes: volumes)
            return nil
        } catch let error as SubmissionError {
            return error.description
        }
    }

    @Test func invalidValuesRejectedWithoutEcho() throws {
        let connection = try Connection(conninfo: try TestDatabase.makeMigratedDatabase())
        let store = StudyStore(connection: connection)

        // 30 February passes a pattern check but is no calendar date.
        let badDate = try #require(try Self.rejection(Self.study(date: "1945-02-30"), volumes: [Self.plain, Self.other], store: store))
        #expect(badDate.contains("Study Date that is not a calendar date"), "\(badDate)")
        #expect(!badDate.contains("1945"), "the message repeats the date")
        #expect(try Self.rejection(Self.study(date: "2024-13-01"), volumes: [Self.plain, Self.other], store: store) != nil)
        #expect(try Self.rejection(Self.study(date: "20240301"), volumes: [Self.plain, Self.other], store: store) != nil)

        // DICOM's LO allows 64 characters.
        let longID = String(repeating: "P", count: 65)
        let tooLong = try #require(try Self.rejection(Self.study(patient: longID), volumes: [Self.plain, Self.other], store: store))
        #expect(tooLong.contains("65 characters; DICOM allows at most 64"), "\(tooLong)")
        #expect(!tooLong.contains(longID), "the message repeats the Patient ID")

        // DICOM's UI allows 64 characters too.
        var longUID = Self.study()
        longUID.studyInstanceUID = "1.2.826.0.1." + String(repeating: "7", count: 60)
        let uidTooLong = try #require(try Self.rejection(longUID, volumes: [Self.plain, Self.other], store: store))
        #expect(uidTooLong.contains("has 72 characters; DICOM allows at most 64"), "\(uidTooLong)")

        // A blank Patient ID, and one with DICOM's trailing padding left on.
        let blank = try #require(try Self.rejection(Self.study(patient: "   "), volumes: [Self.plain, Self.plain], store: store))
        #expect(blank.contains("has no Patient ID"), "\(blank)")
        let padded = try #require(try Self.rejection(Self.study(patient: "EDGE-01 "), volumes: [Self.plain, Self.plain], store: store))
        #expect(padded.contains("starts or ends with spaces"), "\(padded)")

        // PostgreSQL would store text only up to a NUL, so "A\0B" would become patient A.
        let withNul = try #require(try Self.rejection(Self.study(patient: "validation-patient\0OTHER"), volumes: [Self.plain, Self.other], store: store))
        #expect(withNul.contains("Patient ID of study 1.2.826.0.1.99 contains a control character other than ESC, or a backslash"), "\(withNul)")
        #expect(!withNul.contains("OTHER"), "the message repeats the Patient ID")
        #expect(try Self.rejection(Self.study(patient: "TAB\tID"), volumes: [Self.plain, Self.other], store: store) != nil)
        #expect(try Self.rejection(Self.study(patient: "TWO\\VALUES"), volumes: [Self.plain, Self.other], store: store) != nil)
        var uidWithNul = Self.study()
        uidWithNul.studyInstanceUID = "1.2.826.0.1.99\u{0}5"
        let badUID = try #require(try Self.rejection(uidWithNul, volumes: [Self.plain, Self.other], store: store))
        #expect(badUID.contains("the Study Instance UID starting 1.2.826.0.1.99 contains a control character"), "\(badUID)")
        var seriesWithNul = Self.study()
        seriesWithNul.series[1].seriesInstanceUID = "1.2.826.0.1.99.1\u{0}"
        let badSeries = try #require(try Self.rejection(seriesWithNul, volumes: [Self.plain, Self.other], store: store))
        #expect(badSeries.contains("the Series Instance UID starting 1.2.826.0.1.99.1 contains a control character"), "\(badSeries)")

        // Two phases with the same voxels.
        let twins = try #require(try Self.rejection(Self.study(), volumes: [Self.plain, Self.plain], store: store))
        #expect(twins.contains("1.2.826.0.1.99.1 (AP) and 1.2.826.0.1.99.2 (PV) have identical volumes"), "\(twins)")

        // One NaN and one infinity in the portal venous volume.
        let broken = Self.volume([0, .nan, 20, .infinity])
        let nonFinite = try #require(try Self.rejection(Self.study(), volumes: [Self.plain, broken], store: store))
        #expect(nonFinite.contains("1.2.826.0.1.99.2 (PV): 2 voxels are not finite numbers"), "\(nonFinite)")

        // Nothing was stored, and a valid study still is, with a leap day.
        #expect(try connection.execute("SELECT count(*) FROM studies").scalar == "0")
        #expect(try Self.rejection(Self.study(date: "2024-02-29"), volumes: [Self.plain, Self.other], store: store) == nil)
        #expect(try connection.execute("SELECT count(*) FROM studies").scalar == "1")
    }
}
