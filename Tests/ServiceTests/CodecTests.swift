import Foundation
import Testing
import Wire

@Suite struct CodecTests {
    @Test func attachmentsSplitIntoChunks() throws {
        let volume = Data((0..<(chunkSize * 2 + 17)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let mask = Data()
        let envelope = Envelope(.result(JobResult(job: 4, attempt: 2, result: "{\"lesions\": 3}")),
                                attachments: [Attachment(name: "volume", data: volume), Attachment(name: "mask", data: mask)])
        let frames = envelope.encode()

        // Version and type, header, three chunks of the volume, one empty chunk for the mask.
        #expect(frames.count == 6)
        #expect(frames[0] == Data([protocolVersion, 4]))
        #expect(frames[2].count == chunkSize)
        #expect(frames[4].count == 17)
        #expect(try Envelope.decode(frames) == envelope)
    }

    @Test func oversizedReplyBecomesError() throws {
        let jobs = (1...100).map { JobStatus(id: $0, kind: "noop", state: "queued", attempt: 0, errors: []) }
        let reply = Envelope(.statusReply(StatusReply(request: "r-1", counts: ["queued": 100], jobs: jobs)))
        let header = reply.encode()[1].count

        let (frames, oversizedBytes) = reply.encodeReply(request: "r-1", limit: header - 1)
        #expect(oversizedBytes == header)
        guard case .error(let error) = try Envelope.decode(frames).message else {
            Issue.record("expected ERROR, got \(try Envelope.decode(frames).message.name)")
            return
        }
        #expect(error.request == "r-1")
        #expect(error.message == "the STATUS_REPLY reply has a part of \(header) bytes, over the \(header - 1)-byte limit of a client connection; request less at a time")

        let (unchanged, none) = reply.encodeReply(request: "r-1", limit: header)
        #expect(try Envelope.decode(unchanged) == reply)
        #expect(none == nil)
    }

    @Test func truncatedAttachmentRejected() throws {
        let frames = Envelope(.result(JobResult(job: 1, attempt: 1, result: "{}")),
                              attachments: [Attachment(name: "mask", data: Data(count: chunkSize + 1))]).encode()
        let error = #expect(throws: DecodingError.self) { try Envelope.decode(Array(frames.dropLast())) }
        #expect(error?.description.contains("attachment 'mask' needs 2 frame(s), 1 left") == true)
    }

    @Test func extraFramesRejected() throws {
        let frames = Envelope(.heartbeat(Heartbeat(sender: "w", session: "s"))).encode() + [Data([1, 2, 3])]
        let error = #expect(throws: DecodingError.self) { try Envelope.decode(frames) }
        #expect(error?.description.contains("1 frame(s) after the declared attachments") == true)
    }

    @Test func everyMessageRoundTrips() throws {
        let messages: [Message] = [
            .ready(Ready(worker: "w", session: "s", slots: 2, capacity: 4, modelVersion: "std-net-1", kinds: ["noop"])),
            .job(JobOrder(job: 1, attempt: 2, kind: "noop", payload: "{}", leaseMilliseconds: 10_000)),
            .progress(Progress(job: 1, attempt: 2, fraction: 0.5, stage: "encode")),
            .failed(JobFailure(job: 1, attempt: 2, error: "bad", retryable: false)),
            .heartbeat(Heartbeat(sender: "w", session: "s", running: [JobAttempt(job: 1, attempt: 2)], hello: true)),
            .bye(Bye(sender: "w")),
            .abandon(Abandon(job: 1, attempt: 2, reason: "cancelled")),
            .acknowledgement(Acknowledgement(job: 1, attempt: 2, accepted: false, reason: "stale")),
            .submitNoop(SubmitNoop(request: "r", count: 3)),
            .submitted(Submitted(request: "r", jobs: [1, 2, 3])),
            .status(StatusRequest(request: "r", jobs: [1])),
            .status(StatusRequest(request: "r", studies: [4])),
            .statusReply(StatusReply(request: "r", counts: ["queued": 1], jobs: [JobStatus(id: 1, kind: "noop", state: "queued", attempt: 0, errors: [])])),
            .statusReply(StatusReply(request: "r", counts: [:], jobs: [], studies: [
                StudyStatus(study: 4, analyzeJob: 9, analysis: "succeeded", lesions: 2, tracking: "running", trackingPending: true),
            ])),
            .cancel(CancelRequest(request: "r", job: 1)),
            .cancelReply(CancelReply(request: "r", job: 1, cancelled: true)),
            .retry(RetryRequest(request: "r", job: 1)),
            .retryReply(RetryReply(request: "r", job: 1, retried: false)),
            .history(HistoryRequest(request: "r", patientKey: "P", user: "u")),
            .historyReply(HistoryReply(request: "r", studies: [StudyHistoryEntry(
                study: 1, studyDate: "2026-01-05", analysis: "succeeded",
                lesions: [LesionHistoryEntry(lesionIndex: 0, track: 3, volumeMillilitres: 1.5, longestAxialMillimetres: 14,
                                             perpendicularMillimetres: 11, maximumDiameterMillimetres: 15, viableAxialMillimetres: nil,
                                             centroid: [1, 2, 3], category: "LR-4", thresholdGrowth: true,
                                             features: ["arterialEnhancement": "nonrim"], classProbabilities: ["HCC": 0.75, "cyst": 0.25])],
                responses: [ResponseHistoryEntry(criteria: "RECIST 1.1", category: "PR", sumMillimetres: 14, baselineSumMillimetres: 30,
                                                 nadirSumMillimetres: 30, newLesionTracks: [])],
                events: [TrackEventEntry(event: "merge", track: 3, other: 4)])], tracking: "succeeded")),
            .export(ExportRequest(request: "r", study: 4, user: "u")),
            .exportReply(ExportReply(request: "r", study: 4, labelGrid: LabelGrid(size: [2, 3, 4], spacing: [3, 3, 5], origin: [0, 0, 0],
                                                                                  direction: [1, 0, 0, 0, 1, 0, 0, 0, 1]))),
            .error(ErrorReply(request: nil, message: "malformed")),
            .submitStudy(SubmitStudy(request: "r", patientKey: "P", studyInstanceUID: "1.2.3", studyDate: nil, modality: "CT", series: [
                SubmittedSeries(seriesInstanceUID: "1.2.3.4", phase: "PV", description: nil, size: [2, 3, 4], spacing: [1, 1, 2],
                                origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1]),
            ], upload: "8d6f0c3e-upload")),
            .uploadPart(UploadPart(request: "r", upload: "8d6f0c3e-upload", seriesInstanceUID: "1.2.3.4", offset: 8_388_608)),
            .uploadAcknowledgement(UploadAcknowledgement(request: "r", upload: "8d6f0c3e-upload", seriesInstanceUID: "1.2.3.4",
                                                         seriesBytes: 16_777_216, uploadBytes: 25_165_824)),
        ]
        for message in messages {
            let decoded = try Envelope.decode(Envelope(message).encode())
            #expect(decoded.message == message, "\(message.name) changed in a round trip")
        }
    }

    @Test func uploadMessagesUseNewTypeCodes() throws {
        let part = Envelope(.uploadPart(UploadPart(request: "r", upload: "u", seriesInstanceUID: "1.2.3.4", offset: 0)),
                            attachments: [Attachment(name: "part", data: Data(count: chunkSize + 5))])
        let partFrames = part.encode()
        #expect(partFrames[0] == Data([protocolVersion, 33]))
        // Header, then the part's bytes in a full chunk and a 5-byte chunk.
        #expect(partFrames.count == 4)
        #expect(try Envelope.decode(partFrames) == part)

        let acknowledgement = Envelope(.uploadAcknowledgement(UploadAcknowledgement(request: "r", upload: "u", seriesInstanceUID: "1.2.3.4",
                                                                                    seriesBytes: 5, uploadBytes: 9)))
        #expect(acknowledgement.encode()[0] == Data([protocolVersion, 34]))
        #expect(Message.uploadPart(UploadPart(request: "r", upload: "u", seriesInstanceUID: "s", offset: 0)).name == "UPLOAD_PART")
        #expect(acknowledgement.message.name == "UPLOAD_ACK")
    }

    @Test func submitStudyWithoutUploadDecodes() throws {
        // The header of a client that attaches its volumes has no "upload" key.
        let header = """
            {"header": {"request": "r", "patientKey": "P", "studyInstanceUID": "1.2.3", "modality": "CT", "series": []}, "attachments": []}
            """
        let envelope = try Envelope.decode([Data([protocolVersion, 26]), Data(header.utf8)])
        guard case .submitStudy(let submission) = envelope.message else {
            Issue.record("decoded as \(envelope.message.name), expected SUBMIT_STUDY")
            return
        }
        #expect(submission.upload == nil)
        #expect(submission.studyDate == nil)
    }

    @Test func uploadPartMissingOffsetRejected() throws {
        let header = """
            {"header": {"request": "r", "upload": "u", "seriesInstanceUID": "1.2.3.4"}, "attachments": []}
            """
        let error = #expect(throws: DecodingError.self) { try Envelope.decode([Data([protocolVersion, 33]), Data(header.utf8)]) }
        #expect(error?.description.contains("missing field 'offset'") == true)
    }
}
