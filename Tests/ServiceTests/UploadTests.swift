import Foundation
import JobStore
import Testing
import TestSupport
import Wire

/// Studies uploaded in parts (UPLOAD_PART, UPLOAD_ACK, then SUBMIT_STUDY naming the upload)
/// to a real coordinator process on a real database: stored like attached volumes, kept apart
/// per upload, bounded, dropped when idle, and rejected with clear errors.
@Suite(.serialized) struct UploadTests {
    /// A client DEALER that sends one request at a time and returns the reply.
    final class Client {
        let socket: Socket
        let endpoint: String

        init(_ endpoint: String) throws {
            self.endpoint = endpoint
            socket = try Socket(.dealer)
            try socket.connect(endpoint)
        }

        /// Waits up to 60 s for the reply. A debug coordinator once took over 20 s to reply
        /// while an 84 MB study was sent to it, on two cores busy with a build and evaluations.
        func request(_ message: Message, attachments: [Wire.Attachment] = []) throws -> Message {
            guard socket.send(Envelope(message, attachments: attachments).encode()) else { throw TestFailure("request not queued") }
            let timeout = Duration.seconds(60)
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                _ = try poll([.socket(socket)], timeout: .milliseconds(100))
                if let frames = try socket.receive() { return try Envelope.decode(frames).message }
            }
            throw TestFailure("no reply from the coordinator at \(endpoint) within \(timeout)")
        }

        /// Sends one part and returns the acknowledgement, or throws with the reply.
        @discardableResult
        func send(upload: String, series: String, offset: Int, bytes: Data) throws -> UploadAcknowledgement {
            let request = UUID().uuidString
            let reply = try self.request(.uploadPart(UploadPart(request: request, upload: upload, seriesInstanceUID: series, offset: offset)),
                                         attachments: [Attachment(name: "part", data: bytes)])
            guard case .uploadAcknowledgement(let acknowledgement) = reply, acknowledgement.request == request else {
                throw TestFailure("UPLOAD_PART at offset \(offset) got \(reply)")
            }
            return acknowledgement
        }

        /// Sends a request that must fail and returns the ERROR's message; checks the request ID.
        func expectError(_ message: Message, attachments: [Wire.Attachment] = [], request: String) throws -> String {
            let reply = try self.request(message, attachments: attachments)
            guard case .error(let error) = reply else { throw TestFailure("expected ERROR, got \(reply)") }
            #expect(error.request == request, "the ERROR names another request")
            return error.message
        }

        /// Checks that the coordinator still replies to a STATUS request.
        func expectServing() throws {
            let reply = try request(.status(StatusRequest(request: UUID().uuidString)))
            guard case .statusReply = reply else { throw TestFailure("STATUS got \(reply) after a rejected request") }
        }
    }

    /// A synthetic two-phase study with Float32 volumes whose values differ per seed.
    struct Study {
        let header: SubmitStudy
        let volumes: [Data]

        init(uid: String, seed: Int, size: [Int] = [96, 96, 90]) {
            let phases = ["AP", "PV"]
            let count = size.reduce(1, *)
            var series: [SubmittedSeries] = []
            var volumes: [Data] = []
            for (index, phase) in phases.enumerated() {
                series.append(SubmittedSeries(seriesInstanceUID: "\(uid).\(index + 1)", phase: phase, description: nil, size: size,
                                              spacing: [0.8, 0.8, 2.5], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1]))
                let values = (0..<count).map { Float(($0 &* 2_654_435_761 &+ seed &* 97 &+ index) % 4096) - 1000 }
                volumes.append(values.withUnsafeBytes { Data($0) })
            }
            self.volumes = volumes
            header = SubmitStudy(request: "", patientKey: "UPLOAD-TEST-\(seed)", studyInstanceUID: uid, studyDate: "2026-03-02",
                                 modality: "CT", series: series)
        }

        func submission(request: String = UUID().uuidString, upload: String?) -> SubmitStudy {
            SubmitStudy(request: request, patientKey: header.patientKey, studyInstanceUID: header.studyInstanceUID,
                        studyDate: header.studyDate, modality: header.modality, series: header.series, upload: upload)
        }

        /// Cuts every series' volume into parts of `partSize` bytes, in order.
        func parts(partSize: Int) -> [(series: String, offset: Int, bytes: Data)] {
            var parts: [(String, Int, Data)] = []
            for (series, volume) in zip(header.series, volumes) {
                for offset in stride(from: 0, to: volume.count, by: partSize) {
                    parts.append((series.seriesInstanceUID, offset, volume.subdata(in: offset..<min(offset + partSize, volume.count))))
                }
            }
            return parts
        }
    }

    /// Part size of the tests: above the codec's 1 MiB chunk and not a divisor of the volumes.
    static let partSize = 1_500_000

    func storedVolumes(_ deployment: Deployment, study uid: String) throws -> [(phase: String, sha: String)] {
        try deployment.database.execute("""
            SELECT se.phase, se.volume_sha256 FROM series se JOIN studies st ON st.id = se.study_id
            WHERE st.study_instance_uid = $1 ORDER BY se.phase
            """, [uid]).rows.map { ($0[0]!, $0[1]!) }
    }

    @Test func partsStoredLikeAttachedVolumes() throws {
        let deployment = try Deployment()
        try deployment.startCoordinator()
        let client = try Client(deployment.clientEndpoint)
        let inParts = Study(uid: "1.2.826.0.1.3680043.8.498.101", seed: 1)
        let attached = Study(uid: "1.2.826.0.1.3680043.8.498.102", seed: 1)

        // Each acknowledgement counts the series' and the upload's bytes so far.
        let upload = UUID().uuidString
        var uploadBytes = 0
        for part in inParts.parts(partSize: Self.partSize) {
            let acknowledgement = try client.send(upload: upload, series: part.series, offset: part.offset, bytes: part.bytes)
            uploadBytes += part.bytes.count
            #expect(acknowledgement.seriesBytes == part.offset + part.bytes.count)
            #expect(acknowledgement.uploadBytes == uploadBytes)
            #expect(acknowledgement.upload == upload)
        }
        let reply = try client.request(.submitStudy(inParts.submission(upload: upload)))
        guard case .studySubmitted(let stored) = reply else { throw TestFailure("SUBMIT_STUDY naming an upload got \(reply)") }
        #expect(!stored.alreadyStored)

        // The same volumes attached to SUBMIT_STUDY, as older clients send them.
        let attachments = zip(attached.header.series, attached.volumes).map { Attachment(name: $0.seriesInstanceUID, data: $1) }
        let attachedReply = try client.request(.submitStudy(attached.submission(upload: nil)), attachments: attachments)
        guard case .studySubmitted = attachedReply else { throw TestFailure("SUBMIT_STUDY with attachments got \(attachedReply)") }

        let fromParts = try storedVolumes(deployment, study: inParts.header.studyInstanceUID)
        let fromAttachments = try storedVolumes(deployment, study: attached.header.studyInstanceUID)
        #expect(fromParts.map(\.phase) == ["AP", "PV"])
        #expect(fromParts.map(\.sha) == fromAttachments.map(\.sha))
        let store = StudyStore(connection: deployment.database)
        for (stored, volume) in zip(fromParts, inParts.volumes) {
            #expect(try store.readBlob(stored.sha) == volume, "the stored \(stored.phase) volume differs from the one sent in parts")
        }
        #expect(try deployment.value("SELECT count(*) FROM jobs WHERE kind = 'analyze'") == "2")

        // The upload is gone once submitted: naming it again is an error.
        let request = UUID().uuidString
        let again = try client.expectError(.submitStudy(inParts.submission(request: request, upload: upload)), request: request)
        #expect(again.contains("upload \(upload) is unknown"), "\(again)")
    }

    @Test func statusAnsweredWhileStudyIsStored() throws {
        // Two phases of 256 x 256 x 160 voxels, 84 MB: storing them takes the debug coordinator
        // seconds, far longer than one pass of its event loop.
        let deployment = try Deployment()
        try deployment.startCoordinator()
        let submitter = try Client(deployment.clientEndpoint)
        let study = Study(uid: "1.2.826.0.1.3680043.8.498.150", seed: 5, size: [256, 256, 160])
        let upload = UUID().uuidString
        for part in study.parts(partSize: 8 << 20) {
            try submitter.send(upload: upload, series: part.series, offset: part.offset, bytes: part.bytes)
        }

        // SUBMIT_STUDY goes first; a STATUS sent right after must not wait for the store.
        guard submitter.socket.send(Envelope(.submitStudy(study.submission(upload: upload))).encode()) else {
            throw TestFailure("SUBMIT_STUDY not queued")
        }
        let observer = try Client(deployment.clientEndpoint)
        guard observer.socket.send(Envelope(.status(StatusRequest(request: "during-store"))).encode()) else {
            throw TestFailure("STATUS not queued")
        }
        var order: [String] = []
        let deadline = ContinuousClock.now + .seconds(120)
        while order.count < 2 && ContinuousClock.now < deadline {
            _ = try poll([.socket(submitter.socket), .socket(observer.socket)], timeout: .milliseconds(100))
            if let frames = try submitter.socket.receive() {
                let reply = try Envelope.decode(frames).message
                guard case .studySubmitted = reply else { throw TestFailure("SUBMIT_STUDY got \(reply)") }
                order.append("stored")
            }
            if let frames = try observer.socket.receive() {
                let reply = try Envelope.decode(frames).message
                guard case .statusReply = reply else { throw TestFailure("STATUS got \(reply)") }
                order.append("status")
            }
        }
        #expect(order == ["status", "stored"])
        #expect(try deployment.value("SELECT count(*) FROM series") == "2")
    }

    @Test func heartbeatsGoOnWhileAnalyzeInputsAreRead() throws {
        // Storing a study of 84 MB queues its analysis. A worker that grants one slot then gets
        // a JOB with both volumes, which the debug coordinator takes seconds to read from the
        // database. Its heartbeats to the worker must go on meanwhile: a coordinator that read
        // on its event loop sent none between the claim and the JOB, and workers took it for
        // gone. Heartbeats and the JOB share the worker's connection, so their order is exact.
        let deployment = try Deployment()
        try deployment.startCoordinator()
        let submitter = try Client(deployment.clientEndpoint)
        let study = Study(uid: "1.2.826.0.1.3680043.8.498.151", seed: 6, size: [256, 256, 160])
        let upload = UUID().uuidString
        for part in study.parts(partSize: 8 << 20) {
            try submitter.send(upload: upload, series: part.series, offset: part.offset, bytes: part.bytes)
        }
        let stored = try submitter.request(.submitStudy(study.submission(upload: upload)))
        guard case .studySubmitted = stored else { throw TestFailure("SUBMIT_STUDY got \(stored)") }

        // The first READY introduces the worker and its slots are void; the one after the
        // coordinator's hello counts. The worker sends heartbeats, as a real one does, so that
        // it is not declared dead while the volumes are read.
        let worker = try Socket(.dealer, identity: "blob-reader")
        try worker.connect(deployment.workerEndpoint)
        let ready = Envelope(.ready(Ready(worker: "blob-reader", session: "session-1", slots: 1, capacity: 1,
                                          modelVersion: "test", kinds: ["analyze"]))).encode()
        let heartbeat = Envelope(.heartbeat(Heartbeat(sender: "blob-reader", session: "session-1"))).encode()
        guard worker.send(ready) else { throw TestFailure("READY not queued") }
        var slotsGranted = false
        var heartbeatsBeforeJob = 0
        var jobAttachments: [Int]?
        var nextHeartbeat = ContinuousClock.now
        let deadline = ContinuousClock.now + .seconds(120)
        while jobAttachments == nil && ContinuousClock.now < deadline {
            if ContinuousClock.now >= nextHeartbeat {
                _ = worker.send(heartbeat)
                nextHeartbeat = ContinuousClock.now + .milliseconds(100)
            }
            _ = try poll([.socket(worker)], timeout: .milliseconds(50))
            guard let frames = try worker.receive() else { continue }
            let envelope = try Envelope.decode(frames)
            switch envelope.message {
            case .heartbeat(let received) where received.hello && !slotsGranted:
                guard worker.send(ready) else { throw TestFailure("READY not queued") }
                slotsGranted = true
            case .heartbeat where slotsGranted:
                heartbeatsBeforeJob += 1
            case .job:
                jobAttachments = envelope.attachments.map(\.data.count)
            default:
                break
            }
        }
        #expect(jobAttachments == [256 * 256 * 160 * 4, 256 * 256 * 160 * 4])
        // The deployment's coordinator sends a heartbeat every 0.2 s; the read takes seconds.
        #expect(heartbeatsBeforeJob >= 3, "\(heartbeatsBeforeJob) heartbeats between the slot grant and the JOB")
    }

    @Test func concurrentUploadsKeptApart() throws {
        let deployment = try Deployment()
        try deployment.startCoordinator()
        let first = try Client(deployment.clientEndpoint)
        let second = try Client(deployment.clientEndpoint)
        let firstStudy = Study(uid: "1.2.826.0.1.3680043.8.498.201", seed: 2)
        let secondStudy = Study(uid: "1.2.826.0.1.3680043.8.498.202", seed: 3)
        let firstUpload = UUID().uuidString
        let secondUpload = UUID().uuidString

        // Parts alternate between the two clients.
        let firstParts = firstStudy.parts(partSize: Self.partSize)
        let secondParts = secondStudy.parts(partSize: Self.partSize)
        for index in 0..<max(firstParts.count, secondParts.count) {
            if index < firstParts.count {
                let part = firstParts[index]
                try first.send(upload: firstUpload, series: part.series, offset: part.offset, bytes: part.bytes)
            }
            if index < secondParts.count {
                let part = secondParts[index]
                try second.send(upload: secondUpload, series: part.series, offset: part.offset, bytes: part.bytes)
            }
        }

        // A series UID staged in both uploads is counted per upload; SUBMIT_STUDY names neither.
        let shared = "1.2.826.0.1.3680043.8.498.299"
        #expect(try first.send(upload: firstUpload, series: shared, offset: 0, bytes: Data(count: 1000)).seriesBytes == 1000)
        #expect(try second.send(upload: secondUpload, series: shared, offset: 0, bytes: Data(count: 700)).seriesBytes == 700)
        #expect(try first.send(upload: firstUpload, series: shared, offset: 1000, bytes: Data(count: 10)).seriesBytes == 1010)

        guard case .studySubmitted = try second.request(.submitStudy(secondStudy.submission(upload: secondUpload))) else {
            throw TestFailure("the second study was not stored")
        }
        guard case .studySubmitted = try first.request(.submitStudy(firstStudy.submission(upload: firstUpload))) else {
            throw TestFailure("the first study was not stored")
        }

        let store = StudyStore(connection: deployment.database)
        for study in [firstStudy, secondStudy] {
            let stored = try storedVolumes(deployment, study: study.header.studyInstanceUID)
            #expect(stored.count == 2)
            for (series, volume) in zip(stored, study.volumes) {
                #expect(try store.readBlob(series.sha) == volume, "study \(study.header.studyInstanceUID) \(series.phase) holds other bytes")
            }
        }
    }

    @Test func idleUploadDropped() throws {
        let deployment = try Deployment()
        let coordinator = try deployment.startCoordinator(extraArguments: ["--upload-idle-timeout", "1", "--upload-total-limit", "3"])
        let client = try Client(deployment.clientEndpoint)
        let abandoned = UUID().uuidString
        let series = "1.2.826.0.1.3680043.8.498.301"
        try client.send(upload: abandoned, series: series, offset: 0, bytes: Data(count: 2 << 20))

        try waitUntil("the idle upload was not dropped; coordinator log:\n\(coordinator.output.suffix(2000))", timeout: .seconds(15)) {
            coordinator.output.contains("idle upload dropped") && coordinator.output.contains(abandoned)
        }

        // The client that comes back learns that its upload expired.
        let partRequest = UUID().uuidString
        let part = UploadPart(request: partRequest, upload: abandoned, seriesInstanceUID: series, offset: 2 << 20)
        let lateMessage = try client.expectError(.uploadPart(part), attachments: [Attachment(name: "part", data: Data(count: 10))], request: partRequest)
        #expect(lateMessage.contains("upload \(abandoned) expired: it received no part for 1 s and was dropped"), "\(lateMessage)")
        let submitRequest = UUID().uuidString
        let study = Study(uid: "1.2.826.0.1.3680043.8.498.302", seed: 4, size: [8, 8, 8])
        let submitMessage = try client.expectError(.submitStudy(study.submission(request: submitRequest, upload: abandoned)), request: submitRequest)
        #expect(submitMessage.contains("upload \(abandoned) expired"), "\(submitMessage)")

        // Its 2 MiB were released: another 2 MiB fit under the 3 MiB limit for all uploads.
        let fresh = try client.send(upload: UUID().uuidString, series: series, offset: 0, bytes: Data(count: 2 << 20))
        #expect(fresh.uploadBytes == 2 << 20)
        try client.expectServing()
        #expect(coordinator.isRunning)
    }

    @Test func badUploadsGetClearErrors() throws {
        let deployment = try Deployment()
        let coordinator = try deployment.startCoordinator(extraArguments: ["--upload-limit", "4", "--upload-total-limit", "6"])
        let client = try Client(deployment.clientEndpoint)

        // A study stored first must survive everything below.
        let storedFirst = Study(uid: "1.2.826.0.1.3680043.8.498.401", seed: 5, size: [16, 16, 8])
        let storedFirstUpload = UUID().uuidString
        for part in storedFirst.parts(partSize: Self.partSize) {
            try client.send(upload: storedFirstUpload, series: part.series, offset: part.offset, bytes: part.bytes)
        }
        guard case .studySubmitted = try client.request(.submitStudy(storedFirst.submission(upload: storedFirstUpload))) else {
            throw TestFailure("the first study was not stored")
        }

        // A part after the first of an upload the coordinator never saw.
        let unknown = UUID().uuidString
        var request = UUID().uuidString
        var message = try client.expectError(.uploadPart(UploadPart(request: request, upload: unknown, seriesInstanceUID: "1.2.3", offset: 100)),
                                             attachments: [Attachment(name: "part", data: Data(count: 10))], request: request)
        #expect(message.contains("upload \(unknown) is unknown. The first part of an upload must have offset 0."), "\(message)")
        try client.expectServing()

        // A part that skips ahead is rejected, and the upload goes on from where it was.
        let study = Study(uid: "1.2.826.0.1.3680043.8.498.402", seed: 6, size: [10, 10, 10])
        let upload = UUID().uuidString
        let ap = study.header.series[0].seriesInstanceUID
        let pv = study.header.series[1].seriesInstanceUID
        try client.send(upload: upload, series: ap, offset: 0, bytes: study.volumes[0].prefix(1000))
        request = UUID().uuidString
        message = try client.expectError(.uploadPart(UploadPart(request: request, upload: upload, seriesInstanceUID: ap, offset: 3000)),
                                         attachments: [Attachment(name: "part", data: Data(count: 1000))], request: request)
        #expect(message.contains("upload \(upload): the part of series \(ap) has offset 3000, expected 1000"), "\(message)")
        try client.expectServing()
        #expect(try client.send(upload: upload, series: ap, offset: 1000, bytes: study.volumes[0].subdata(in: 1000..<2000)).seriesBytes == 2000)
        try client.send(upload: upload, series: pv, offset: 0, bytes: study.volumes[1])

        // A part without bytes, and an upload ID that is not a UUID-like token.
        request = UUID().uuidString
        message = try client.expectError(.uploadPart(UploadPart(request: request, upload: upload, seriesInstanceUID: ap, offset: 2000)), request: request)
        #expect(message.contains("UPLOAD_PART has 0 attachments, expected 1"), "\(message)")
        request = UUID().uuidString
        message = try client.expectError(.uploadPart(UploadPart(request: request, upload: "../etc passwd", seriesInstanceUID: ap, offset: 0)),
                                         attachments: [Attachment(name: "part", data: Data(count: 10))], request: request)
        #expect(message.contains("upload ID '../etc passwd' is invalid"), "\(message)")
        try client.expectServing()

        // The AP volume has 2000 of its 4000 bytes: SUBMIT_STUDY names the series and both sizes.
        request = UUID().uuidString
        message = try client.expectError(.submitStudy(study.submission(request: request, upload: upload)), request: request)
        #expect(message.contains("series \(ap): volume has 2000 bytes, its grid [10, 10, 10] needs 4000"), "\(message)")
        try client.expectServing()

        // A series the upload never received.
        let partial = UUID().uuidString
        try client.send(upload: partial, series: ap, offset: 0, bytes: study.volumes[0])
        request = UUID().uuidString
        message = try client.expectError(.submitStudy(study.submission(request: request, upload: partial)), request: request)
        #expect(message.contains("series \(pv) has no volume in upload \(partial)"), "\(message)")

        // Volumes in parts and attached at once.
        let both = UUID().uuidString
        try client.send(upload: both, series: ap, offset: 0, bytes: study.volumes[0])
        request = UUID().uuidString
        message = try client.expectError(.submitStudy(study.submission(request: request, upload: both)),
                                         attachments: [Attachment(name: ap, data: study.volumes[0])], request: request)
        #expect(message.contains("SUBMIT_STUDY names upload \(both) and carries 1 attachment(s)"), "\(message)")

        // SUBMIT_STUDY naming an upload that never existed.
        let missing = UUID().uuidString
        request = UUID().uuidString
        message = try client.expectError(.submitStudy(study.submission(request: request, upload: missing)), request: request)
        #expect(message.contains("upload \(missing) is unknown. Send its parts with UPLOAD_PART"), "\(message)")
        try client.expectServing()

        // Above the 4 MiB per upload: the upload is dropped with the part.
        let large = UUID().uuidString
        try client.send(upload: large, series: ap, offset: 0, bytes: Data(count: 3 << 20))
        request = UUID().uuidString
        message = try client.expectError(.uploadPart(UploadPart(request: request, upload: large, seriesInstanceUID: ap, offset: 3 << 20)),
                                         attachments: [Attachment(name: "part", data: Data(count: 2 << 20))], request: request)
        #expect(message.contains("upload \(large) was dropped: \(5 << 20) bytes would exceed the limit of \(4 << 20) bytes per upload"), "\(message)")
        request = UUID().uuidString
        message = try client.expectError(.uploadPart(UploadPart(request: request, upload: large, seriesInstanceUID: ap, offset: 3 << 20)),
                                         attachments: [Attachment(name: "part", data: Data(count: 10))], request: request)
        #expect(message.contains("upload \(large) is unknown"), "\(message)")
        try client.expectServing()

        // Above the 6 MiB for all uploads: 3 MiB + 1 byte staged, and another 3 MiB do not fit.
        let firstLarge = UUID().uuidString
        let secondLarge = UUID().uuidString
        try client.send(upload: firstLarge, series: ap, offset: 0, bytes: Data(count: (3 << 20) + 1))
        request = UUID().uuidString
        message = try client.expectError(.uploadPart(UploadPart(request: request, upload: secondLarge, seriesInstanceUID: ap, offset: 0)),
                                         attachments: [Attachment(name: "part", data: Data(count: 3 << 20))], request: request)
        #expect(message.contains("upload \(secondLarge) was dropped: the coordinator would stage"), "\(message)")
        #expect(message.contains("above its limit of \(6 << 20) bytes (coordinator option --upload-total-limit)"), "\(message)")
        try client.expectServing()

        // Nothing stored was lost, the log names no series, and a good upload is still stored.
        #expect(try deployment.value("SELECT count(*) FROM studies") == "1")
        #expect(try storedVolumes(deployment, study: storedFirst.header.studyInstanceUID).count == 2)
        #expect(coordinator.output.contains("upload part rejected"))
        #expect(!coordinator.output.contains(ap), "the coordinator logged a Series Instance UID")
        let retry = UUID().uuidString
        for part in study.parts(partSize: Self.partSize) {
            try client.send(upload: retry, series: part.series, offset: part.offset, bytes: part.bytes)
        }
        guard case .studySubmitted = try client.request(.submitStudy(study.submission(upload: retry))) else {
            throw TestFailure("a good upload after the rejections was not stored")
        }
        #expect(try deployment.value("SELECT count(*) FROM studies") == "2")
        #expect(coordinator.isRunning)
    }
}
