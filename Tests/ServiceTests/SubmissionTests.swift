import Foundation
import Imaging
import JobStore
import Testing
import TestSupport

/// Studies submitted with `stdnet submit` from phantom DICOM folders, good and bad.
@Suite(.serialized) struct SubmissionTests {
    /// A small phantom patient with two studies, written once for the suite.
    static let phantomFolder: URL = {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("stdnet-submission-\(getpid())")
        let process = try! ServiceProcess(["phantom", "--out", folder.path, "--patients", "2", "--timepoints", "1",
                                           "--size", "48,40,16", "--spacing", "7,7,12", "--seed", "8"], label: "phantom")
        precondition(process.wait(timeout: .seconds(300)) == 0, "stdnet phantom failed: \(process.output)")
        return folder
    }()

    static func study(patient: Int) -> URL {
        phantomFolder.appendingPathComponent(String(format: "patient-%03d/timepoint-0", patient))
    }

    func submit(_ paths: [String], to deployment: Deployment, extra: [String] = []) throws -> (status: Int32?, output: String) {
        let process = try ServiceProcess(["submit"] + paths + ["--coordinator", deployment.clientEndpoint, "--timeout", "60"] + extra, label: "submit")
        let status = process.wait(timeout: .seconds(120))
        return (status, process.output)
    }

    @Test func studyStoredOnceWithGeometry() throws {
        let deployment = try Deployment()
        try deployment.startCoordinator()
        let dicom = Self.study(patient: 1).appendingPathComponent("dicom").path

        let first = try submit([dicom], to: deployment)
        #expect(first.status == 0, "\(first.output)")
        #expect(first.output.contains("stored as study"))
        #expect(try deployment.value("SELECT count(*) FROM studies") == "1")
        #expect(try deployment.value("SELECT string_agg(phase, ',' ORDER BY phase) FROM series") == "AP,DP,NC,PV")
        #expect(try deployment.value("SELECT count(*) FROM jobs WHERE kind = 'analyze' AND state = 'queued'") == "1")

        // The stored portal venous volume is the one written to DICOM, with its grid.
        let written = try SeriesAssembler.loadSeries(folder: Self.study(patient: 1).appendingPathComponent("dicom/PV").path).volume
        let row = try #require(try deployment.database.execute("""
            SELECT array_to_string(size, ','), array_to_string(spacing, ','), volume_sha256 FROM series WHERE phase = 'PV'
            """).rows.first)
        #expect(row[0] == "\(written.size.x),\(written.size.y),\(written.size.z)")
        #expect(row[1] == "7,7,12")
        let stored = try StudyStore(connection: deployment.database).readBlob(row[2]!)
        #expect(stored == written.voxels.withUnsafeBytes { Data($0) })

        let second = try submit([dicom], to: deployment)
        #expect(second.status == 0, "\(second.output)")
        #expect(second.output.contains("already stored as study"))
        #expect(try deployment.value("SELECT count(*) FROM studies") == "1")
        #expect(try deployment.value("SELECT count(*) FROM series") == "4")
        #expect(try deployment.value("SELECT count(*) FROM jobs") == "1")
    }

    @Test func badInputsGetClearMessages() throws {
        let deployment = try Deployment()
        let coordinator = try deployment.startCoordinator()
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("stdnet-bad-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }

        // A folder without DICOM.
        let empty = scratch.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        try Data("not an image".utf8).write(to: empty.appendingPathComponent("notes.txt"))
        let noDicom = try submit([empty.path], to: deployment)
        #expect(noDicom.status == 1)
        #expect(noDicom.output.contains("no DICOM image series found under \(empty.path)"), "\(noDicom.output)")

        // One phase only.
        let onePhase = try submit([Self.study(patient: 1).appendingPathComponent("dicom/PV").path], to: deployment)
        #expect(onePhase.status == 1)
        #expect(onePhase.output.contains("has only the PV phase"), "\(onePhase.output)")

        // A corrupt file among good ones: the damaged series is reported, the others are stored.
        let damaged = scratch.appendingPathComponent("damaged")
        try FileManager.default.copyItem(at: Self.study(patient: 2).appendingPathComponent("dicom"), to: damaged)
        let victim = damaged.appendingPathComponent("AP/CT00005.dcm")
        let bytes = try Data(contentsOf: victim)
        try bytes.prefix(bytes.count / 3).write(to: victim)
        let partial = try submit([damaged.path], to: deployment)
        #expect(partial.output.contains("skipped series"), "\(partial.output)")
        #expect(partial.output.contains("\(victim.path): offset"), "\(partial.output)")
        #expect(try deployment.value("SELECT count(*) FROM studies") == "1")
        #expect(try deployment.value("SELECT string_agg(phase, ',' ORDER BY phase) FROM series") == "DP,NC,PV")

        // A series of another patient inside this patient's study.
        let mixed = scratch.appendingPathComponent("mixed")
        try FileManager.default.copyItem(at: Self.study(patient: 1).appendingPathComponent("dicom"), to: mixed)
        let studyUID = try #require(try SeriesScanner.scan(mixed.appendingPathComponent("PV").path).series.first?.attributes.studyInstanceUID)
        let volume = try SeriesAssembler.loadSeries(folder: mixed.appendingPathComponent("AP").path).volume
        try FileManager.default.removeItem(at: mixed.appendingPathComponent("AP"))
        try CTSeriesWriter.write(volume, attributes: CTSeriesAttributes(patientName: "OTHER^PATIENT", patientID: "SOMEONE-ELSE",
                                                                        studyInstanceUID: studyUID, seriesDescription: "ABD LIVER LATE ARTERIAL",
                                                                        acquisitionTime: "093140", contrastAgent: "IOHEXOL 350"),
                                 to: mixed.appendingPathComponent("AP").path)
        let wrongPatient = try submit([mixed.path], to: deployment)
        #expect(wrongPatient.status == 1)
        #expect(wrongPatient.output.contains("holds series of 2 different patients"), "\(wrongPatient.output)")
        #expect(!wrongPatient.output.contains("SOMEONE-ELSE"), "the message names a Patient ID")

        // Nothing stored was lost, and the coordinator still serves.
        #expect(try deployment.value("SELECT count(*) FROM studies") == "1")
        #expect(coordinator.isRunning)
        try deployment.startWorker(name: "worker")
        let jobs = try deployment.submit(3)
        try waitUntil("no-op jobs did not run after the bad submissions") {
            try deployment.value("SELECT count(*) FROM jobs WHERE id = ANY($1::bigint[]) AND state = 'succeeded'",
                                 ["{\(jobs.map(String.init).joined(separator: ","))}"]) == "3"
        }
    }

    @Test func unreachableCoordinatorNamed() throws {
        let endpoint = "tcp://127.0.0.1:\(freePort())"
        let process = try ServiceProcess(["submit", Self.study(patient: 1).appendingPathComponent("dicom").path,
                                          "--coordinator", endpoint, "--timeout", "1"], label: "submit-unreachable")
        #expect(process.wait(timeout: .seconds(60)) == 1)
        #expect(process.output.contains("the coordinator at \(endpoint) did not answer within 1.0 s"), "\(process.output)")
    }
}
