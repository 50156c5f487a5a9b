import Foundation
import Imaging
import JobStore
import Testing
import TestSupport
import Wire

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

    /// Writes NC.nii and PV.nii of one value each, at 3 x 3 x 5 mm, into a new folder.
    static func uniformPhases(size: VolumeSize, values: [Float]) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("stdnet-nifti-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let geometry = Geometry(size: size, spacing: Vector3(3, 3, 5))
        for (phase, value) in zip(["NC", "PV"], values) {
            try NIfTIWriter.write(Volume<Float>(geometry: geometry, repeating: value), to: folder.appendingPathComponent("\(phase).nii").path)
        }
        return folder
    }

    /// Returns a ROUTER socket bound to a free loopback port, to stand in for a coordinator's
    /// client endpoint, and its endpoint.
    static func fakeCoordinator() throws -> (socket: Socket, endpoint: String) {
        let endpoint = "tcp://127.0.0.1:\(freePort())"
        let socket = try Socket(.router)
        try socket.bind(endpoint)
        return (socket, endpoint)
    }

    /// Replies on a fake coordinator's client socket with `answer` (no reply for nil) until the
    /// submit command ends.
    static func serve(_ coordinator: Socket, until process: ServiceProcess, _ answer: (Envelope) throws -> Message?) throws {
        try waitUntil("the submit command did not end; output:\n\(process.output)", timeout: .seconds(120)) {
            _ = try poll([.socket(coordinator)], timeout: .milliseconds(50))
            while let frames = try coordinator.receive() {
                if let reply = try answer(try Envelope.decode(Array(frames.dropFirst()))) {
                    coordinator.send([frames[0]] + Envelope(reply).encode())
                }
            }
            return !process.isRunning
        }
    }

    func submit(_ paths: [String], to deployment: Deployment, extra: [String] = []) throws -> (status: Int32?, output: String) {
        let process = try ServiceProcess(["submit"] + paths + ["--coordinator", deployment.clientEndpoint, "--timeout", "60"] + extra, label: "submit")
        let status = process.wait(timeout: .seconds(120))
        return (status, process.output)
    }

    @Test func noopWaitStopsAtTimeout() throws {
        // No worker runs, so the job stays queued and only the timeout ends the wait.
        let deployment = try Deployment()
        try deployment.startCoordinator()
        let started = ContinuousClock.now
        let result = try submit([], to: deployment, extra: ["--noop", "1", "--wait", "--wait-timeout", "1"])
        #expect(result.status == 1, "\(result.output)")
        #expect(result.output.contains("stopped waiting after"), "\(result.output)")
        #expect(ContinuousClock.now - started < .seconds(30))
        #expect(try deployment.value("SELECT state FROM jobs") == "queued")
    }

    @Test func statusSplitsLongJobLists() throws {
        // No worker runs, so every job stays queued.
        let deployment = try Deployment()
        try deployment.startCoordinator()
        let jobs = try deployment.submit(StatusRequest.maximumJobs + 1)

        // One request over the limit gets an error that names the count.
        let reply = try deployment.request(.status(StatusRequest(request: "too-many", jobs: jobs)))
        guard case .error(let error) = reply else {
            Issue.record("expected an ERROR reply, got \(reply.name)")
            return
        }
        #expect(error.request == "too-many")
        #expect(error.message.contains("\(jobs.count) jobs"), "\(error.message)")

        // The client splits the list and reports every job.
        let status = try ServiceProcess(["status"] + jobs.map(String.init) + ["--coordinator", deployment.clientEndpoint], label: "status")
        #expect(status.wait(timeout: .seconds(120)) == 0, "\(status.output.suffix(500))")
        let queuedLines = status.output.split(separator: "\n").filter { $0.contains(": noop queued") }
        #expect(queuedLines.count == jobs.count)
        #expect(!status.output.contains("not found"))
    }

    @Test func studyStoredOnceWithGeometry() throws {
        let deployment = try Deployment()
        try deployment.startCoordinator()
        let dicom = Self.study(patient: 1).appendingPathComponent("dicom").path

        let first = try submit([dicom], to: deployment)
        #expect(first.status == 0, "\(first.output)")
        #expect(first.output.contains("stored as study"))
        // Off a terminal, the upload's bar prints one line when every part is acknowledged.
        let uploadLines = first.output.split(separator: "\n").filter { $0.contains("uploading 4 phase(s)") }
        #expect(uploadLines.count == 1, "\(first.output)")
        #expect(uploadLines.first?.contains("[##############################] 100% ") == true, "\(first.output)")
        #expect(first.output.contains("storing the study: done in"), "\(first.output)")
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

        // The same folder given twice is one study, read once.
        let twice = try submit([dicom, dicom], to: deployment)
        #expect(twice.status == 0, "\(twice.output)")
        #expect(twice.output.contains("already stored as study"), "\(twice.output)")
        #expect(!twice.output.contains("duplicate slice ignored"), "\(twice.output)")
        #expect(try deployment.value("SELECT count(*) FROM studies") == "1")
        #expect(!twice.output.contains("will not run"), "\(twice.output)")

        // The same study again after its analysis was cancelled: it is not analysed on its own.
        let jobText = try #require(try deployment.value("SELECT id FROM jobs WHERE kind = 'analyze'"))
        let job = try #require(Int64(jobText))
        guard case .cancelReply(let cancelled) = try deployment.request(.cancel(CancelRequest(request: "cancel", job: job))), cancelled.cancelled else {
            Issue.record("the analyze job was not cancelled")
            return
        }
        let afterCancel = try submit([dicom], to: deployment)
        #expect(afterCancel.status == 0, "\(afterCancel.output)")
        #expect(afterCancel.output.contains("analyze job \(job) of study 1 is cancelled and will not run: 'stdnet retry \(job)' runs it again"),
                "\(afterCancel.output)")
    }

    @Test func smallPartsStoreExactVolumes() throws {
        let deployment = try Deployment()
        try deployment.startCoordinator()
        let study = Self.study(patient: 2)

        // 0.05 MiB parts cut each 122,880-byte volume into three parts, the last one short.
        let result = try submit([study.appendingPathComponent("dicom").path], to: deployment, extra: ["--part-size", "0.05"])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("[##############################] 100% 0.5/0.5 MB"), "\(result.output)")

        let store = StudyStore(connection: deployment.database)
        for phase in ["NC", "AP", "PV", "DP"] {
            let written = try SeriesAssembler.loadSeries(folder: study.appendingPathComponent("dicom/\(phase)").path).volume
            let sha = try #require(try deployment.value("SELECT volume_sha256 FROM series WHERE phase = $1", [phase]))
            #expect(try store.readBlob(sha) == written.voxels.withUnsafeBytes { Data($0) }, "the stored \(phase) volume differs")
        }
    }

    @Test func olderCoordinatorGetsAttachedVolumes() throws {
        // A coordinator built before UPLOAD_PART: it rejects the type as its decoder did and
        // takes the volumes attached to SUBMIT_STUDY.
        let (coordinator, endpoint) = try Self.fakeCoordinator()
        let process = try ServiceProcess(["submit", Self.study(patient: 1).appendingPathComponent("dicom").path,
                                          "--coordinator", endpoint, "--timeout", "20"], label: "submit-older")
        defer { process.stop() }

        var submission: SubmitStudy?
        var attachments: [Wire.Attachment] = []
        var rejectedParts = 0
        try Self.serve(coordinator, until: process) { envelope in
            switch envelope.message {
            case .status(let request):
                return .statusReply(StatusReply(request: request.request, counts: [:], jobs: []))
            case .uploadPart:
                rejectedParts += 1
                return .error(ErrorReply(request: nil, message: "malformed request: unknown message type 33 in frame 0"))
            case .submitStudy(let request):
                submission = request
                attachments = envelope.attachments
                return .studySubmitted(StudySubmitted(request: request.request, study: 7, job: 9, alreadyStored: false))
            default:
                throw TestFailure("unexpected \(envelope.message.name) from the submit command")
            }
        }

        #expect(process.wait(timeout: .zero) == 0, "\(process.output)")
        #expect(rejectedParts == 1)
        #expect(process.output.contains("the coordinator does not accept uploads in parts; sending the study as one message"), "\(process.output)")
        #expect(process.output.contains("stored as study 7, analyze job 9"), "\(process.output)")
        let received = try #require(submission)
        #expect(received.upload == nil)
        #expect(attachments.map(\.name) == received.series.map(\.seriesInstanceUID))
        for (attachment, series) in zip(attachments, received.series) {
            #expect(attachment.data.count == 4 * series.size.reduce(1, *), "series \(series.phase) has a volume of another size")
        }
    }

    /// A coordinator that restarts while it stores a study loses the SUBMIT_STUDY and the staged
    /// upload. The client sees the new session in its STATUS probes and sends the study again.
    @Test func studySentAgainWhenCoordinatorRestartsWhileStoring() throws {
        let (coordinator, endpoint) = try Self.fakeCoordinator()
        let process = try ServiceProcess(["submit", Self.study(patient: 1).appendingPathComponent("dicom").path,
                                          "--coordinator", endpoint, "--timeout", "60"], label: "submit-restart")
        defer { process.stop() }

        // The fake coordinator acknowledges every part. It takes the first SUBMIT_STUDY without a
        // reply, as a coordinator killed while storing would, and its STATUS replies then carry
        // a new session.
        var session = "first-run"
        var submissions: [SubmitStudy] = []
        var staged: [String: Int] = [:]
        try Self.serve(coordinator, until: process) { envelope in
            switch envelope.message {
            case .status(let request):
                return .statusReply(StatusReply(request: request.request, counts: [:], jobs: [], session: session))
            case .uploadPart(let part):
                let bytes = envelope.attachments[0].data.count
                staged[part.upload, default: 0] += bytes
                return .uploadAcknowledgement(UploadAcknowledgement(request: part.request, upload: part.upload, seriesInstanceUID: part.seriesInstanceUID,
                                                                    seriesBytes: part.offset + bytes, uploadBytes: staged[part.upload]!))
            case .submitStudy(let request):
                submissions.append(request)
                guard submissions.count > 1 else {
                    session = "second-run"
                    return nil
                }
                return .studySubmitted(StudySubmitted(request: request.request, study: 7, job: 9, alreadyStored: false))
            default:
                throw TestFailure("unexpected \(envelope.message.name) from the submit command")
            }
        }

        #expect(process.wait(timeout: .zero) == 0, "\(process.output)")
        #expect(process.output.contains("the coordinator restarted while the study was submitted; sending the study again"), "\(process.output)")
        #expect(process.output.contains("stored as study 7, analyze job 9"), "\(process.output)")
        #expect(submissions.count == 2)
        #expect(Set(submissions.compactMap(\.upload)).count == 2, "the study was sent again under a new upload ID")
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

        // One phase only, with a --phase mapping for a series that does not exist.
        let onePhase = try submit([Self.study(patient: 1).appendingPathComponent("dicom/PV").path], to: deployment, extra: ["--phase", "99=AP"])
        #expect(onePhase.status == 1)
        #expect(onePhase.output.contains("has only the PV phase"), "\(onePhase.output)")
        #expect(onePhase.output.contains("warning: --phase names series 99, but no series read has that"), "\(onePhase.output)")

        // A file where a folder is expected.
        let file = Self.study(patient: 1).appendingPathComponent("dicom/PV/CT00001.dcm").path
        let notFolder = try submit([file], to: deployment)
        #expect(notFolder.status == 1)
        #expect(notFolder.output.contains("\(file): this is a file, not a folder"), "\(notFolder.output)")

        // A slice cut inside its header is skipped as a file, so its series would be stored
        // with a gap: nothing is submitted.
        let cutHeader = scratch.appendingPathComponent("cut-header")
        try FileManager.default.copyItem(at: Self.study(patient: 2).appendingPathComponent("dicom"), to: cutHeader)
        let cutSlice = cutHeader.appendingPathComponent("AP/CT00005.dcm")
        try Data(contentsOf: cutSlice).prefix(400).write(to: cutSlice)
        let gap = try submit([cutHeader.path], to: deployment)
        #expect(gap.status == 1)
        #expect(gap.output.contains("skipped file \(cutSlice.path)"), "\(gap.output)")
        #expect(gap.output.contains("nothing submitted: 1 DICOM file(s) could not be read"), "\(gap.output)")
        #expect(try deployment.value("SELECT count(*) FROM studies") == "0")

        // A corrupt file among good ones: the damaged series is reported, and the study is not
        // submitted, because a stored study could not get the phase later.
        let damaged = scratch.appendingPathComponent("damaged")
        try FileManager.default.copyItem(at: Self.study(patient: 2).appendingPathComponent("dicom"), to: damaged)
        let victim = damaged.appendingPathComponent("AP/CT00005.dcm")
        let bytes = try Data(contentsOf: victim)
        try bytes.prefix(bytes.count / 3).write(to: victim)
        // And a slice missing from the middle of PV, which the assembler resamples over.
        try FileManager.default.removeItem(at: damaged.appendingPathComponent("PV/CT00008.dcm"))
        let rejected = try submit([damaged.path], to: deployment)
        #expect(rejected.status == 1)
        #expect(rejected.output.contains("not submitted: its AP series could not be read"), "\(rejected.output)")
        #expect(try deployment.value("SELECT count(*) FROM studies") == "0")
        // Asked to, it submits the other phases.
        let partial = try submit([damaged.path], to: deployment, extra: ["--skip-unreadable-series"])
        #expect(partial.status == 0, "\(partial.output)")
        #expect(partial.output.contains("skipped series"), "\(partial.output)")
        #expect(partial.output.contains("(PV): 1 slice(s) missing"), "\(partial.output)")
        #expect(partial.output.contains("\(victim.path): offset"), "\(partial.output)")
        #expect(try deployment.value("SELECT count(*) FROM studies") == "1")
        #expect(try deployment.value("SELECT string_agg(phase, ',' ORDER BY phase) FROM series") == "DP,NC,PV")

        // The repaired study, submitted again, is found stored with the phases it had. A
        // Secondary Capture without slice geometry and an RT plan beside it are not CT or MR
        // slices, so they are skipped without stopping it.
        let repairedFolder = scratch.appendingPathComponent("repaired")
        try FileManager.default.copyItem(at: Self.study(patient: 2).appendingPathComponent("dicom"), to: repairedFolder)
        for name in ["JPEG-LL.dcm", "ExplVR_LitEndNoMeta.dcm"] {
            try FileManager.default.copyItem(at: ServiceProcess.packageRoot.appendingPathComponent("Tests/ImagingTests/Fixtures/pydicom/\(name)"),
                                             to: repairedFolder.appendingPathComponent(name))
        }
        let repaired = try submit([repairedFolder.path], to: deployment)
        #expect(repaired.status == 0, "\(repaired.output)")
        #expect(repaired.output.contains("skipped 2 DICOM file(s) that are not CT or MR slices, such as "), "\(repaired.output)")
        #expect(repaired.output.contains("with phases NC, PV, DP; the AP series of this submission were not added"), "\(repaired.output)")
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
        #expect(wrongPatient.output.contains("holds series of 2 different patients, split by Patient ID into (series "), "\(wrongPatient.output)")
        #expect(wrongPatient.output.contains(") and (series "), "\(wrongPatient.output)")
        #expect(!wrongPatient.output.contains("SOMEONE-ELSE"), "the message names a Patient ID")

        // One slice of another patient in the middle of this patient's arterial series.
        let stray = scratch.appendingPathComponent("stray")
        try FileManager.default.copyItem(at: Self.study(patient: 1).appendingPathComponent("dicom"), to: stray)
        let arterial = try #require(try SeriesScanner.scan(stray.appendingPathComponent("AP").path).series.first?.attributes)
        let otherSeries = scratch.appendingPathComponent("stray-source").path
        try CTSeriesWriter.write(volume, attributes: CTSeriesAttributes(patientName: "OTHER^PATIENT", patientID: "SOMEONE-ELSE",
                                                                        studyInstanceUID: studyUID, seriesInstanceUID: arterial.seriesInstanceUID,
                                                                        seriesDescription: "ABD LIVER LATE ARTERIAL"),
                                 to: otherSeries)
        let straySlice = stray.appendingPathComponent("AP/CT00010.dcm")
        try FileManager.default.removeItem(at: straySlice)
        try FileManager.default.copyItem(atPath: otherSeries + "/CT00010.dcm", toPath: straySlice.path)
        let strayPatient = try submit([stray.path], to: deployment)
        #expect(strayPatient.status == 1)
        #expect(strayPatient.output.contains("\(straySlice.path) has another Patient ID than"), "\(strayPatient.output)")
        #expect(!strayPatient.output.contains("SOMEONE-ELSE"), "the message names a Patient ID")

        // A second image at one position of the arterial series: the series is skipped, and
        // named once, before the reason.
        let repeated = scratch.appendingPathComponent("repeated")
        try FileManager.default.copyItem(at: Self.study(patient: 1).appendingPathComponent("dicom"), to: repeated)
        let repeatedSource = scratch.appendingPathComponent("repeated-source").path
        try CTSeriesWriter.write(volume, attributes: CTSeriesAttributes(patientName: "PHANTOM", patientID: try #require(arterial.patientID),
                                                                        studyInstanceUID: studyUID, seriesInstanceUID: arterial.seriesInstanceUID,
                                                                        seriesDescription: "ABD LIVER LATE ARTERIAL"),
                                 to: repeatedSource)
        try FileManager.default.copyItem(atPath: repeatedSource + "/CT00010.dcm", toPath: repeated.appendingPathComponent("AP/CT00010-again.dcm").path)
        let repeatedImage = try submit([repeated.path], to: deployment)
        #expect(repeatedImage.status == 1)
        #expect(repeatedImage.output.contains("skipped series \(arterial.seriesInstanceUID): two different images at position"), "\(repeatedImage.output)")

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

    /// A coordinator killed in the middle of an upload restarts without the staged parts: the
    /// client finds it replying again and sends the study once more from the start.
    @Test func uploadSentAgainAfterCoordinatorRestart() throws {
        let deployment = try Deployment()
        let first = try deployment.startCoordinator()
        // 2 x 4 MiB in parts of 1 KiB: about eight thousand round trips, so the upload is still
        // running when the coordinator is killed.
        let folder = try Self.uniformPhases(size: VolumeSize(64, 64, 256), values: [40, 120])
        defer { try? FileManager.default.removeItem(at: folder) }

        // The part timeout is the smaller of --timeout and 60 s, so 5 s here. Depending on when
        // the kill lands, the new session shows in a STATUS probe, the pending part gets no
        // reply, or the restarted coordinator rejects a part of an unknown upload. Each leads to
        // one resend.
        let submission = try ServiceProcess([
            "submit", "--nifti", "NC=\(folder.path)/NC.nii,PV=\(folder.path)/PV.nii", "--patient", "RESTART-0001",
            "--part-size", "0.001", "--coordinator", deployment.clientEndpoint, "--timeout", "5",
        ], label: "submit")
        try waitUntil("the upload did not start: \(first.output)", timeout: .seconds(30)) { first.output.contains("upload started") }
        first.signal(SIGKILL)
        #expect(first.wait(timeout: .seconds(10)) != nil)
        try deployment.startCoordinator(name: "restarted")

        #expect(submission.wait(timeout: .seconds(120)) == 0, "\(submission.output)")
        #expect(submission.output.contains("so it may have lost the upload"), "\(submission.output)")
        #expect(submission.output.contains("stored as study"), "\(submission.output)")
        #expect(try deployment.value("SELECT count(*) FROM series") == "2")
    }

    @Test func mrStudyGetsWarning() throws {
        let deployment = try Deployment()
        try deployment.startCoordinator()
        let folder = try Self.uniformPhases(size: VolumeSize(8, 8, 4), values: [300, 500])
        defer { try? FileManager.default.removeItem(at: folder) }

        let result = try submit([], to: deployment, extra: [
            "--nifti", "NC=\(folder.path)/NC.nii,PV=\(folder.path)/PV.nii", "--patient", "MR-0001", "--modality", "MR",
        ])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("is MR; the analysis normalises it with the CT window"), "\(result.output)")
        #expect(try deployment.value("SELECT modality FROM studies") == "MR")

        // A NIfTI path that does not exist is named as not found.
        let missing = try submit([], to: deployment, extra: ["--nifti", "NC=\(folder.path)/NC.nii,PV=\(folder.path)/none.nii", "--patient", "MR-0001"])
        #expect(missing.status == 1)
        #expect(missing.output.contains("the PV volume \(folder.path)/none.nii was not found"), "\(missing.output)")

        // A file cut inside its header is named once, before the reader's reason.
        let cut = folder.appendingPathComponent("PV-cut.nii")
        try Data(contentsOf: folder.appendingPathComponent("PV.nii")).prefix(200).write(to: cut)
        let unreadable = try submit([], to: deployment, extra: ["--nifti", "NC=\(folder.path)/NC.nii,PV=\(cut.path)", "--patient", "MR-0001"])
        #expect(unreadable.status == 1)
        #expect(unreadable.output.contains("cannot read the PV volume \(cut.path): "), "\(unreadable.output)")
        #expect(!unreadable.output.contains("\(cut.path): \(cut.path)"), "\(unreadable.output)")

        // A 4D file: dim[0] = 4 and dim[4] = 2 (header bytes 40 and 48), with a second volume.
        var fourD = try Data(contentsOf: folder.appendingPathComponent("PV.nii"))
        fourD.replaceSubrange(40..<42, with: [4, 0])
        fourD.replaceSubrange(48..<50, with: [2, 0])
        fourD.append(fourD.suffix(8 * 8 * 4 * 4))
        try fourD.write(to: folder.appendingPathComponent("PV-4d.nii"))
        let series = try submit([], to: deployment, extra: ["--nifti", "NC=\(folder.path)/NC.nii,PV=\(folder.path)/PV-4d.nii", "--patient", "MR-0001"])
        #expect(series.status == 1)
        #expect(series.output.contains("the PV volume \(folder.path)/PV-4d.nii contains 2 volumes (a 4D file); give one 3D volume per phase"), "\(series.output)")

        // A NIfTI-1 file without sform and qform codes and with pixdim[1] = 0 (header bytes 252,
        // 254 and 80), whose grid the reader guesses as nibabel does.
        var bytes = try Data(contentsOf: folder.appendingPathComponent("NC.nii"))
        bytes.replaceSubrange(252..<256, with: [0, 0, 0, 0])
        bytes.replaceSubrange(80..<84, with: [0, 0, 0, 0])
        try bytes.write(to: folder.appendingPathComponent("NC-no-affine.nii"))
        let guessed = try submit([], to: deployment, extra: [
            "--nifti", "NC=\(folder.path)/NC-no-affine.nii,PV=\(folder.path)/PV.nii", "--patient", "MR-0002", "--modality", "MR",
        ])
        #expect(guessed.output.contains("warning: the NC volume \(folder.path)/NC-no-affine.nii has neither an sform nor a qform, so its grid is centred on the origin and its voxel size pixdim[1] of 0 is taken as 1 mm"),
                "\(guessed.output)")
        // The warning goes to standard output and the upload's progress to standard error, both
        // into one log file here: the warning, printed first, must come first.
        let warning = try #require(guessed.output.range(of: "warning: the NC volume"))
        let upload = try #require(guessed.output.range(of: "uploading 2 phase(s)"), "\(guessed.output)")
        #expect(warning.lowerBound < upload.lowerBound, "\(guessed.output)")

        // An NC volume of 2 x 2 x 1 voxels at the PV volume's corner covers a quarter of each of
        // its axes: 1/64 of it.
        let corner = try Self.uniformPhases(size: VolumeSize(2, 2, 1), values: [40, 120])
        defer { try? FileManager.default.removeItem(at: corner) }
        let small = try submit([], to: deployment, extra: ["--nifti", "NC=\(corner.path)/NC.nii,PV=\(folder.path)/PV.nii", "--patient", "MR-0003"])
        #expect(small.status == 0, "\(small.output)")
        #expect(small.output.contains(": the NC volume covers 2% of the PV volume, onto which the analysis resamples it; elsewhere the analysis has no NC image"),
                "\(small.output)")
        #expect(!result.output.contains("% of the PV volume"), "\(result.output)")
    }

    @Test func waitReportsAStoppedCoordinatorInSeconds() throws {
        // No worker runs, so --wait polls STATUS and reports the missing worker until the
        // coordinator is killed. The polls must time out after the 10 s of a STATUS, not the
        // 300 s submit allows SUBMIT_STUDY.
        let deployment = try Deployment()
        let (waiting, volumes) = try Self.submitWithoutWorker(to: deployment, patient: "WAIT-0001", waitOptions: ["--wait"], label: "submit-wait")
        defer {
            waiting.stop()
            try? FileManager.default.removeItem(at: volumes)
        }
        // The wait's lines reach the log file while submit runs, although C buffers standard
        // output in blocks when it is a file.
        try waitUntil("submit printed no wait line while it ran:\n\(waiting.output)", timeout: .seconds(30)) {
            waiting.output.contains("study 1: analysis queued\n")
        }
        let firstLine = ContinuousClock.now
        let status = try ServiceProcess(["status", "--study", "1", "--coordinator", deployment.clientEndpoint], label: "status-study")
        #expect(status.wait(timeout: .seconds(30)) == 0, "\(status.output)")
        #expect(status.output.contains("study 1: analysis queued (job 1)\n"), "\(status.output)")
        // The missing worker is reported after 10 s without one, not at once: after a
        // coordinator restart workers take a few seconds to reconnect.
        try waitUntil("submit never reported the missing worker:\n\(waiting.output)", timeout: .seconds(30)) {
            waiting.output.contains("waiting: no connected worker runs analyze jobs")
        }
        #expect(ContinuousClock.now - firstLine >= .seconds(8))
        deployment.coordinators[0].signal(SIGKILL)
        let killed = ContinuousClock.now
        #expect(waiting.wait(timeout: .seconds(60)) == 1, "\(waiting.output)")
        #expect(ContinuousClock.now - killed < .seconds(30))
        #expect(waiting.output.contains("did not answer within 10.0 s"), "\(waiting.output)")
        #expect(waiting.output.contains("The studies are stored, and their analyses go on once the coordinator runs again"), "\(waiting.output)")
        // Before its analysis succeeds, a study's line names no lesions and no tracking state.
        #expect(!waiting.output.contains("lesion(s)"), "\(waiting.output)")
        #expect(!status.output.contains("lesion(s)"), "\(status.output)")
    }

    /// A wait shorter than the 10 s before the missing-worker line still names the cause.
    @Test func shortWaitNamesMissingWorker() throws {
        let deployment = try Deployment()
        let (waiting, volumes) = try Self.submitWithoutWorker(to: deployment, patient: "WAIT-0002", waitOptions: ["--wait", "--wait-timeout", "2"],
                                                              label: "submit-short-wait")
        defer { try? FileManager.default.removeItem(at: volumes) }
        #expect(waiting.wait(timeout: .seconds(60)) == 1, "\(waiting.output)")
        #expect(waiting.output.contains("no connected worker runs analyze jobs; start one with a model"), "\(waiting.output)")
        #expect(waiting.output.contains("stopped waiting after 2"), "\(waiting.output)")
    }

    /// Starts the deployment's coordinator, with no worker, and submits a two-phase NIfTI study
    /// of `patient` that waits for its analysis as `waitOptions` ask. Returns the running submit
    /// and the folder of its volumes, for the caller to remove.
    static func submitWithoutWorker(to deployment: Deployment, patient: String, waitOptions: [String],
                                    label: String) throws -> (submit: ServiceProcess, volumes: URL) {
        try deployment.startCoordinator()
        let volumes = try uniformPhases(size: VolumeSize(8, 8, 4), values: [40, 120])
        let submit = try ServiceProcess([
            "submit", "--nifti", "NC=\(volumes.path)/NC.nii,PV=\(volumes.path)/PV.nii", "--patient", patient,
            "--coordinator", deployment.clientEndpoint,
        ] + waitOptions, label: label)
        return (submit, volumes)
    }

    @Test func unreachableCoordinatorNamed() throws {
        let endpoint = "tcp://127.0.0.1:\(freePort())"
        let process = try ServiceProcess(["submit", Self.study(patient: 1).appendingPathComponent("dicom").path,
                                          "--coordinator", endpoint, "--timeout", "1"], label: "submit-unreachable")
        #expect(process.wait(timeout: .seconds(60)) == 1)
        #expect(process.output.contains("the coordinator at \(endpoint) did not answer within 1.0 s"), "\(process.output)")
    }
}
