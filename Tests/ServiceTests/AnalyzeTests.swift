import Foundation
import Imaging
import JobStore
import STDNet
import Testing
import TestSupport
import Wire

/// A submitted study analysed by a worker with a model: the pipeline's plumbing, not the
/// model's accuracy (the model here has random weights).
@Suite(.serialized) struct AnalyzeTests {
    /// Writes a small model with random weights, at a coarse spacing that keeps analysis quick.
    static func randomModel(seed: UInt64) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("stdnet-analyze-model-\(UUID().uuidString)")
        let configuration = ModelConfiguration(channels: [4, 8, 8, 8], heads: 2, characterisationHidden: 8, spacing: [8, 8, 12])
        try STDNetModel.random(configuration, seed: seed).save(to: folder)
        return folder
    }

    @Test func submittedStudyIsAnalysed() throws {
        let modelFolder = try Self.randomModel(seed: 1)
        defer { try? FileManager.default.removeItem(at: modelFolder) }

        let deployment = try Deployment(lease: "20", heartbeat: "0.5")
        try deployment.startCoordinator()
        let worker = try ServiceProcess(["worker", "--coordinator", deployment.workerEndpoint, "--name", "analyst",
                                         "--heartbeat", "0.5", "--model", modelFolder.path], label: "analyst")
        defer { worker.stop() }

        let dicom = SubmissionTests.study(patient: 1).appendingPathComponent("dicom").path
        let submit = try ServiceProcess(["submit", dicom, "--coordinator", deployment.clientEndpoint, "--timeout", "60"], label: "submit")
        #expect(submit.wait(timeout: .seconds(120)) == 0, "\(submit.output)")
        try waitUntil("the analyze job did not end; worker log:\n\(worker.output.suffix(2000))", timeout: .seconds(240)) {
            try deployment.value("SELECT state::text FROM jobs WHERE kind = 'analyze'").map { ["succeeded", "dead"].contains($0) } ?? false
        }

        #expect(try deployment.value("SELECT state::text FROM jobs WHERE kind = 'analyze'") == "succeeded", "\(worker.output.suffix(2000))")
        let result = try #require(try deployment.value("SELECT result::text FROM jobs WHERE kind = 'analyze'"))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.utf8)) as? [String: Any])
        #expect(json["lesions"] is [Any])
        let grid = try #require((json["labelGrid"] as? [String: Any])?["size"] as? [Int])
        #expect(grid.count == 3)
        // The label map is stored beside the result, one byte per voxel of its grid.
        #expect(try deployment.value("SELECT b.byte_count FROM result_files f JOIN blobs b USING (sha256) WHERE f.name = 'labels'")
                == String(grid.reduce(1, *)))
        let timings = try #require(json["timingsMilliseconds"] as? [String: Double])
        #expect(Set(timings.keys) == ["decode_ms", "resample_ms", "normalise_ms", "network_ms", "characterisation_ms", "lesions_ms", "key_images_ms"])

        // The result's lesions are stored with the completion, one row each.
        let lesionCount = (json["lesions"] as? [Any])?.count ?? -1
        #expect(try deployment.value("SELECT count(*) FROM lesions") == String(lesionCount))
        // Tracking follows the analysis and gives every lesion a track.
        try waitUntil("the track job did not succeed; worker log:\n\(worker.output.suffix(2000))", timeout: .seconds(60)) {
            try deployment.value("SELECT state::text FROM jobs WHERE kind = 'track'") == "succeeded"
        }
        #expect(try deployment.value("SELECT count(*) FROM lesions WHERE track_id IS NULL") == "0")

        // The history read names the study and is audited with its user.
        let patientKey = try #require(try deployment.value("SELECT patient_key FROM patients"))
        // With the padding that DICOM allows around a Patient ID.
        let history = try ServiceProcess(["history", " \(patientKey) ", "--user", "dr-test", "--json", "--coordinator", deployment.clientEndpoint],
                                         label: "history")
        #expect(history.wait(timeout: .seconds(60)) == 0, "\(history.output)")
        let reply = try #require(try JSONSerialization.jsonObject(with: Data(history.output.utf8)) as? [String: Any])
        let studies = try #require(reply["studies"] as? [[String: Any]])
        #expect(studies.count == 1)
        #expect(studies.first?["analysis"] as? String == "succeeded")
        #expect((studies.first?["lesions"] as? [Any])?.count == lesionCount)
        #expect(studies.first?["modality"] as? String == "CT")
        #expect(studies.first?["phases"] as? [String] == ["NC", "AP", "PV", "DP"])
        #expect(try deployment.value("SELECT actor || ' ' || action FROM audit_log") == "dr-test history")
        #expect(!deployment.coordinators[0].output.contains(patientKey), "the coordinator logged the Patient ID")

        // A lookup of an unknown patient fails and is audited without the ID asked for.
        let unknown = try ServiceProcess(["history", "NOBODY-0000", "--user", "dr-test", "--coordinator", deployment.clientEndpoint],
                                         label: "history-unknown")
        #expect(unknown.wait(timeout: .seconds(60)) == 1)
        #expect(unknown.output.contains("no studies stored for this patient"), "\(unknown.output)")
        #expect(try deployment.value("SELECT count(*) FROM audit_log WHERE patient_id IS NULL AND detail ->> 'patientFound' = 'false'") == "1")
        #expect(try deployment.value("SELECT count(*) FROM audit_log WHERE detail::text LIKE '%NOBODY%'") == "0")

        // The stored key followed by a NUL and more: PostgreSQL would match the stored patient.
        let client = try Socket(.dealer)
        try client.connect(deployment.clientEndpoint)
        client.send(Envelope(.history(HistoryRequest(request: "nul-key", patientKey: patientKey + "\u{0}OTHER", user: "dr-test"))).encode())
        _ = try poll([.socket(client)], timeout: .seconds(10))
        let nulReply = try client.receive().map { try Envelope.decode($0).message }
        guard case .error(let error) = nulReply else {
            Issue.record("a Patient ID with a NUL got \(String(describing: nulReply)) instead of ERROR")
            return
        }
        #expect(error.message == "the Patient ID contains a control character other than ESC, which no stored Patient ID has")

        // The table form names the modality and phases, and the lesion count or "no lesion found".
        let table = try ServiceProcess(["history", patientKey, "--user", "dr-test", "--coordinator", deployment.clientEndpoint],
                                       label: "history-table")
        #expect(table.wait(timeout: .seconds(60)) == 0, "\(table.output)")
        let found = lesionCount == 0 ? "no lesion found" : "\(lesionCount) lesion(s)"
        #expect(table.output.contains(": CT, phases NC AP PV DP, analysis succeeded, \(found)"), "\(table.output)")
    }

    @Test func studyWithoutLiverFails() throws {
        // Two phases of air: the shipped model finds no liver, so the analysis must fail with
        // the reason rather than report a scan without lesions.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("stdnet-air-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let geometry = Geometry(size: VolumeSize(48, 40, 12), spacing: Vector3(3, 3, 5))
        // Two phases of one volume are rejected as identical, so the second differs by 1 HU.
        for (phase, value) in [("NC", Float(-1000)), ("PV", Float(-999))] {
            try NIfTIWriter.write(Volume<Float>(geometry: geometry, repeating: value), to: folder.appendingPathComponent("\(phase).nii").path)
        }

        let deployment = try Deployment(lease: "60", heartbeat: "0.5")
        try deployment.startCoordinator()
        deployment.workers.append(try ServiceProcess(command: [
            ServiceProcess.releaseExecutable, "worker", "--coordinator", deployment.workerEndpoint, "--name", "analyst",
            "--heartbeat", "0.5", "--model", ServiceProcess.packageRoot.appendingPathComponent("Models/std-net").path,
        ], label: "analyst"))
        let submit = try ServiceProcess([
            "submit", "--nifti", "NC=\(folder.path)/NC.nii,PV=\(folder.path)/PV.nii", "--patient", "AIR-0001", "--wait",
            "--coordinator", deployment.clientEndpoint,
        ], label: "submit")
        #expect(submit.wait(timeout: .seconds(300)) == 1, "\(submit.output)")
        #expect(submit.output.contains("analysis failed, attempt 1: analyze job"), "\(submit.output)")
        let job = try #require(try deployment.value("SELECT id FROM jobs WHERE kind = 'analyze'"))
        #expect(submit.output.contains("'stdnet retry \(job)' runs its analysis again"), "\(submit.output)")
        #expect(submit.output.contains("mL of liver, less than the 100 mL a liver study shows, in phases NC, PV;"), "\(submit.output)")
        #expect(submit.output.contains("misses the liver more often when a phase is missing"), "\(submit.output)")
        // The worker's log names the model and the settings it analyses with.
        #expect(deployment.workers[0].output.contains("model loaded model=std-net:\(ServiceProcess.packageRoot.path)/Models/std-net spacing_mm=3.0,3.0,5.0 window=32,64,64 lesion_threshold=0.95"),
                "\(deployment.workers[0].output)")
        #expect(try deployment.value("SELECT state::text FROM jobs WHERE kind = 'analyze'") == "dead")
        #expect(try deployment.value("SELECT count(*) FROM lesions") == "0")

        // An export of the study reports that the analysis failed, not that it has yet to finish.
        let study = try #require(try deployment.value("SELECT id FROM studies"))
        let export = try ServiceProcess(["export", study, "--labels", folder.appendingPathComponent("labels.nii.gz").path,
                                         "--user", "test", "--coordinator", deployment.clientEndpoint], label: "export")
        #expect(export.wait(timeout: .seconds(60)) == 1)
        #expect(export.output.contains("the analysis of study \(study) is dead, so it has no result to export"), "\(export.output)")

        // With all four phases present, the failure does not blame a missing one.
        for (phase, value) in [("AP", Float(-998)), ("DP", Float(-997))] {
            try NIfTIWriter.write(Volume<Float>(geometry: geometry, repeating: value), to: folder.appendingPathComponent("\(phase).nii").path)
        }
        let phases = ["NC", "AP", "PV", "DP"].map { "\($0)=\(folder.path)/\($0).nii" }.joined(separator: ",")
        let complete = try ServiceProcess(["submit", "--nifti", phases, "--patient", "AIR-0002", "--wait", "--coordinator", deployment.clientEndpoint],
                                          label: "submit-four-phases")
        #expect(complete.wait(timeout: .seconds(300)) == 1, "\(complete.output)")
        #expect(complete.output.contains("in phases NC, AP, PV, DP; check that the series cover the liver. If they do, the model failed on this study: it was trained on phantoms\n"),
                "\(complete.output)")
    }

    @Test func workerKilledDuringAnalysisLeavesOneResult() throws {
        let modelFolder = try Self.randomModel(seed: 2)
        defer { try? FileManager.default.removeItem(at: modelFolder) }

        let deployment = try Deployment(lease: "20", heartbeat: "0.3")
        try deployment.startCoordinator()
        let workerArguments = ["worker", "--coordinator", deployment.workerEndpoint, "--heartbeat", "0.3", "--model", modelFolder.path]
        let doomed = try ServiceProcess(workerArguments + ["--name", "doomed"], label: "doomed")
        defer { doomed.stop() }

        let dicom = SubmissionTests.study(patient: 2).appendingPathComponent("dicom").path
        let submit = try ServiceProcess(["submit", dicom, "--coordinator", deployment.clientEndpoint, "--timeout", "60"], label: "submit")
        #expect(submit.wait(timeout: .seconds(120)) == 0, "\(submit.output)")
        try waitUntil("the analyze job never started", timeout: .seconds(60)) {
            try deployment.value("SELECT state::text FROM jobs WHERE kind = 'analyze'") == "running"
        }
        doomed.signal(SIGKILL)

        let survivor = try ServiceProcess(workerArguments + ["--name", "survivor"], label: "survivor")
        defer { survivor.stop() }
        try waitUntil("the analyze job did not succeed; worker log:\n\(survivor.output.suffix(2000))", timeout: .seconds(240)) {
            try deployment.value("SELECT state::text FROM jobs WHERE kind = 'analyze'") == "succeeded"
        }
        // The killed attempt was released and the second one's result stored once.
        #expect(try deployment.value("SELECT attempt FROM jobs WHERE kind = 'analyze'") == "2")
        let lesions = try #require(try deployment.value("SELECT jsonb_array_length(result -> 'lesions') FROM jobs WHERE kind = 'analyze'"))
        #expect(try deployment.value("SELECT count(*) FROM lesions") == lesions)
        #expect(try deployment.value("SELECT count(*) FROM result_files") == String(Int(lesions)! + 1))
        try waitUntil("the track job did not succeed", timeout: .seconds(60)) {
            try deployment.value("SELECT state::text FROM jobs WHERE kind = 'track'") == "succeeded"
        }
    }
}
