// Encoding and decoding of protocol messages into ZeroMQ frames.
//
// Frames of one message (after the routing ID a ROUTER adds or removes):
//   0: two bytes, the protocol version and the message type code
//   1: the header, UTF-8 JSON: {"header": <message fields>, "attachments": [{"name", "byteCount"}]}
//   2...: the attachments' bytes in order, each cut into chunks of at most `chunkSize` bytes
import Foundation

/// The protocol version this build speaks; a message with another version is rejected.
public let protocolVersion: UInt8 = 1

/// Binary payloads are cut into frames of at most this many bytes.
public let chunkSize = 1024 * 1024

/// A binary payload sent after the header, such as a volume or a mask.
public struct Attachment: Sendable, Equatable {
    public let name: String
    public let data: Data

    public init(name: String, data: Data) {
        self.name = name
        self.data = data
    }
}

/// Every message of both protocols, by type.
public enum Message: Sendable, Equatable {
    case ready(Ready)
    case job(JobOrder)
    case progress(Progress)
    case result(JobResult)
    case failed(JobFailure)
    case heartbeat(Heartbeat)
    case bye(Bye)
    case abandon(Abandon)
    case acknowledgement(Acknowledgement)
    case submitNoop(SubmitNoop)
    case submitted(Submitted)
    case status(StatusRequest)
    case statusReply(StatusReply)
    case cancel(CancelRequest)
    case cancelReply(CancelReply)
    case submitStudy(SubmitStudy)
    case studySubmitted(StudySubmitted)
    case history(HistoryRequest)
    case historyReply(HistoryReply)
    case error(ErrorReply)
    case export(ExportRequest)
    case exportReply(ExportReply)
    case uploadPart(UploadPart)
    case uploadAcknowledgement(UploadAcknowledgement)
    case retry(RetryRequest)
    case retryReply(RetryReply)

    /// The type code in frame 0.
    public var typeCode: UInt8 {
        switch self {
        case .ready: 1
        case .job: 2
        case .progress: 3
        case .result: 4
        case .failed: 5
        case .heartbeat: 6
        case .bye: 7
        case .abandon: 8
        case .acknowledgement: 9
        case .submitNoop: 20
        case .submitted: 21
        case .status: 22
        case .statusReply: 23
        case .cancel: 24
        case .cancelReply: 25
        case .submitStudy: 26
        case .studySubmitted: 27
        case .history: 28
        case .historyReply: 29
        case .error: 30
        case .export: 31
        case .exportReply: 32
        case .uploadPart: 33
        case .uploadAcknowledgement: 34
        case .retry: 35
        case .retryReply: 36
        }
    }

    /// The name used in logs and in Docs/protocol.md.
    public var name: String {
        switch self {
        case .ready: "READY"
        case .job: "JOB"
        case .progress: "PROGRESS"
        case .result: "RESULT"
        case .failed: "FAILED"
        case .heartbeat: "HEARTBEAT"
        case .bye: "BYE"
        case .abandon: "ABANDON"
        case .acknowledgement: "ACK"
        case .submitNoop: "SUBMIT_NOOP"
        case .submitted: "SUBMITTED"
        case .status: "STATUS"
        case .statusReply: "STATUS_REPLY"
        case .cancel: "CANCEL"
        case .cancelReply: "CANCEL_REPLY"
        case .submitStudy: "SUBMIT_STUDY"
        case .studySubmitted: "STUDY_SUBMITTED"
        case .history: "HISTORY"
        case .historyReply: "HISTORY_REPLY"
        case .error: "ERROR"
        case .export: "EXPORT"
        case .exportReply: "EXPORT_REPLY"
        case .uploadPart: "UPLOAD_PART"
        case .uploadAcknowledgement: "UPLOAD_ACK"
        case .retry: "RETRY"
        case .retryReply: "RETRY_REPLY"
        }
    }
}

/// A message that could not be decoded, with the frame at fault and the reason.
public struct DecodingError: Error, CustomStringConvertible {
    public let description: String

    public init(description: String) { self.description = description }
}

/// A decoded message with its attachments.
public struct Envelope: Sendable, Equatable {
    public let message: Message
    public let attachments: [Attachment]

    public init(_ message: Message, attachments: [Attachment] = []) {
        self.message = message
        self.attachments = attachments
    }

    // MARK: Encoding

    /// Encodes the message into frames, without a routing ID.
    public func encode() -> [Data] {
        let manifest = attachments.map { AttachmentInfo(name: $0.name, byteCount: $0.data.count) }
        let header: Data
        switch message {
        case .ready(let body): header = Self.encodeHeader(body, manifest)
        case .job(let body): header = Self.encodeHeader(body, manifest)
        case .progress(let body): header = Self.encodeHeader(body, manifest)
        case .result(let body): header = Self.encodeHeader(body, manifest)
        case .failed(let body): header = Self.encodeHeader(body, manifest)
        case .heartbeat(let body): header = Self.encodeHeader(body, manifest)
        case .bye(let body): header = Self.encodeHeader(body, manifest)
        case .abandon(let body): header = Self.encodeHeader(body, manifest)
        case .acknowledgement(let body): header = Self.encodeHeader(body, manifest)
        case .submitNoop(let body): header = Self.encodeHeader(body, manifest)
        case .submitted(let body): header = Self.encodeHeader(body, manifest)
        case .status(let body): header = Self.encodeHeader(body, manifest)
        case .statusReply(let body): header = Self.encodeHeader(body, manifest)
        case .cancel(let body): header = Self.encodeHeader(body, manifest)
        case .cancelReply(let body): header = Self.encodeHeader(body, manifest)
        case .submitStudy(let body): header = Self.encodeHeader(body, manifest)
        case .studySubmitted(let body): header = Self.encodeHeader(body, manifest)
        case .history(let body): header = Self.encodeHeader(body, manifest)
        case .historyReply(let body): header = Self.encodeHeader(body, manifest)
        case .error(let body): header = Self.encodeHeader(body, manifest)
        case .export(let body): header = Self.encodeHeader(body, manifest)
        case .exportReply(let body): header = Self.encodeHeader(body, manifest)
        case .uploadPart(let body): header = Self.encodeHeader(body, manifest)
        case .uploadAcknowledgement(let body): header = Self.encodeHeader(body, manifest)
        case .retry(let body): header = Self.encodeHeader(body, manifest)
        case .retryReply(let body): header = Self.encodeHeader(body, manifest)
        }
        var frames = [Data([protocolVersion, message.typeCode]), header]
        for attachment in attachments {
            var offset = 0
            repeat {
                let end = min(offset + chunkSize, attachment.data.count)
                frames.append(attachment.data.subdata(in: attachment.data.startIndex + offset..<attachment.data.startIndex + end))
                offset = end
            } while offset < attachment.data.count
        }
        return frames
    }

    /// Encodes a reply to a client. The client's socket would drop a frame over `limit` bytes
    /// without a trace, so such a reply becomes an ERROR reply to `request` that names its type
    /// and size. `oversizedBytes` is then that frame's size.
    public func encodeReply(request: String?, limit: Int = Socket.maximumFrameSize) -> (frames: [Data], oversizedBytes: Int?) {
        let frames = encode()
        let largest = frames.map(\.count).max() ?? 0
        guard largest > limit else { return (frames, nil) }
        let explanation = "the \(message.name) reply has a part of \(largest) bytes, over the \(limit)-byte limit of a client connection; request less at a time"
        return (Envelope(.error(ErrorReply(request: request, message: explanation))).encode(), largest)
    }

    private static func encodeHeader<Body: Codable>(_ body: Body, _ manifest: [AttachmentInfo]) -> Data {
        // Encoding these plain structs cannot fail.
        try! JSONEncoder().encode(HeaderFrame(header: body, attachments: manifest))
    }

    // MARK: Decoding

    /// Decodes the frames of one message (without a routing ID).
    ///
    /// - throws: ``DecodingError`` naming the frame that is missing, too short, of another
    ///   protocol version, of an unknown type, not valid JSON, or inconsistent with the manifest.
    public static func decode(_ frames: [Data]) throws -> Envelope {
        guard frames.count >= 2 else {
            throw DecodingError(description: "truncated message: \(frames.count) frame(s), expected at least 2")
        }
        let prefix = [UInt8](frames[0])
        guard prefix.count == 2 else {
            throw DecodingError(description: "frame 0 has \(prefix.count) bytes, expected 2 (version, type)")
        }
        guard prefix[0] == protocolVersion else {
            throw DecodingError(description: "protocol version \(prefix[0]) is not supported; this build speaks version \(protocolVersion)")
        }

        let message = try decodeHeader(type: prefix[1], frames[1])
        let manifest = try decodeJSON(HeaderFrame<Empty>.self, frames[1], type: prefix[1]).attachments
        let attachments = try reassemble(manifest, chunks: frames.dropFirst(2))
        return Envelope(message, attachments: attachments)
    }

    private static func decodeHeader(type: UInt8, _ frame: Data) throws -> Message {
        switch type {
        case 1: return .ready(try decodeJSON(HeaderFrame<Ready>.self, frame, type: type).header)
        case 2: return .job(try decodeJSON(HeaderFrame<JobOrder>.self, frame, type: type).header)
        case 3: return .progress(try decodeJSON(HeaderFrame<Progress>.self, frame, type: type).header)
        case 4: return .result(try decodeJSON(HeaderFrame<JobResult>.self, frame, type: type).header)
        case 5: return .failed(try decodeJSON(HeaderFrame<JobFailure>.self, frame, type: type).header)
        case 6: return .heartbeat(try decodeJSON(HeaderFrame<Heartbeat>.self, frame, type: type).header)
        case 7: return .bye(try decodeJSON(HeaderFrame<Bye>.self, frame, type: type).header)
        case 8: return .abandon(try decodeJSON(HeaderFrame<Abandon>.self, frame, type: type).header)
        case 9: return .acknowledgement(try decodeJSON(HeaderFrame<Acknowledgement>.self, frame, type: type).header)
        case 20: return .submitNoop(try decodeJSON(HeaderFrame<SubmitNoop>.self, frame, type: type).header)
        case 21: return .submitted(try decodeJSON(HeaderFrame<Submitted>.self, frame, type: type).header)
        case 22: return .status(try decodeJSON(HeaderFrame<StatusRequest>.self, frame, type: type).header)
        case 23: return .statusReply(try decodeJSON(HeaderFrame<StatusReply>.self, frame, type: type).header)
        case 24: return .cancel(try decodeJSON(HeaderFrame<CancelRequest>.self, frame, type: type).header)
        case 25: return .cancelReply(try decodeJSON(HeaderFrame<CancelReply>.self, frame, type: type).header)
        case 26: return .submitStudy(try decodeJSON(HeaderFrame<SubmitStudy>.self, frame, type: type).header)
        case 27: return .studySubmitted(try decodeJSON(HeaderFrame<StudySubmitted>.self, frame, type: type).header)
        case 28: return .history(try decodeJSON(HeaderFrame<HistoryRequest>.self, frame, type: type).header)
        case 29: return .historyReply(try decodeJSON(HeaderFrame<HistoryReply>.self, frame, type: type).header)
        case 30: return .error(try decodeJSON(HeaderFrame<ErrorReply>.self, frame, type: type).header)
        case 31: return .export(try decodeJSON(HeaderFrame<ExportRequest>.self, frame, type: type).header)
        case 32: return .exportReply(try decodeJSON(HeaderFrame<ExportReply>.self, frame, type: type).header)
        case 33: return .uploadPart(try decodeJSON(HeaderFrame<UploadPart>.self, frame, type: type).header)
        case 34: return .uploadAcknowledgement(try decodeJSON(HeaderFrame<UploadAcknowledgement>.self, frame, type: type).header)
        case 35: return .retry(try decodeJSON(HeaderFrame<RetryRequest>.self, frame, type: type).header)
        case 36: return .retryReply(try decodeJSON(HeaderFrame<RetryReply>.self, frame, type: type).header)
        default: throw DecodingError(description: "unknown message type \(type) in frame 0")
        }
    }

    private static func decodeJSON<T: Decodable>(_ kind: T.Type, _ frame: Data, type: UInt8) throws -> T {
        do {
            return try JSONDecoder().decode(kind, from: frame)
        } catch {
            throw DecodingError(description: "frame 1 (header of message type \(type)) is invalid: \(describe(error))")
        }
    }

    private static func reassemble(_ manifest: [AttachmentInfo], chunks: ArraySlice<Data>) throws -> [Attachment] {
        var attachments: [Attachment] = []
        var index = chunks.startIndex
        for info in manifest {
            guard info.byteCount >= 0 else {
                throw DecodingError(description: "attachment '\(info.name)' declares a negative size")
            }
            let chunkCount = max(1, (info.byteCount + chunkSize - 1) / chunkSize)
            guard chunks.endIndex - index >= chunkCount else {
                throw DecodingError(description: "truncated message: attachment '\(info.name)' needs \(chunkCount) frame(s), \(chunks.endIndex - index) left")
            }
            var data = Data(capacity: info.byteCount)
            for chunk in chunks[index..<index + chunkCount] {
                guard chunk.count <= chunkSize else {
                    throw DecodingError(description: "attachment '\(info.name)' has a frame of \(chunk.count) bytes, above the \(chunkSize)-byte chunk size")
                }
                data.append(chunk)
            }
            guard data.count == info.byteCount else {
                throw DecodingError(description: "attachment '\(info.name)' has \(data.count) bytes, the header declares \(info.byteCount)")
            }
            attachments.append(Attachment(name: info.name, data: data))
            index += chunkCount
        }
        guard index == chunks.endIndex else {
            throw DecodingError(description: "\(chunks.endIndex - index) frame(s) after the declared attachments")
        }
        return attachments
    }
}

/// One attachment in the header's manifest.
struct AttachmentInfo: Codable {
    let name: String
    let byteCount: Int
}

struct HeaderFrame<Header: Codable>: Codable {
    let header: Header
    let attachments: [AttachmentInfo]
}

/// Decodes any header object, for reading only the manifest.
struct Empty: Codable {}

private func describe(_ error: Error) -> String {
    switch error {
    case Swift.DecodingError.keyNotFound(let key, _): "missing field '\(key.stringValue)'"
    case Swift.DecodingError.typeMismatch(_, let context), Swift.DecodingError.valueNotFound(_, let context):
        "wrong type at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'"
    case Swift.DecodingError.dataCorrupted(let context): context.debugDescription
    default: String(describing: error)
    }
}
