// Sending a study's volumes to the coordinator in parts (UPLOAD_PART), each acknowledged
// (UPLOAD_ACK), so that the upload shows a real percentage.
import Foundation
import Wire

/// One series' volume as it is sent: Float32, little endian, i fastest.
struct SeriesVolume {
    let seriesInstanceUID: String
    let bytes: Data
}

enum VolumeUpload {
    /// Bytes per UPLOAD_PART unless `--part-size` sets another size. The codec cuts each part
    /// into 1 MiB frames. By estimate, 8 MiB take about 70 ms on a 1 Gbit/s network, so the wait
    /// for each acknowledgement (one round trip) adds little to the upload.
    static let defaultPartSize = 8 * 1024 * 1024

    /// The maximum wait for the acknowledgement of one part, sending included. Staging a part
    /// takes the coordinator milliseconds, so a longer silence means that it restarted, losing
    /// the parts it kept in memory, that it stopped, or that the link is slower than about
    /// 1 Mbit/s for parts of 8 MiB.
    static let partTimeout: Duration = .seconds(60)

    /// Sends every volume in parts under a new upload ID with a progress bar, and returns the ID
    /// for SUBMIT_STUDY. Returns nil when the coordinator does not know UPLOAD_PART (a build
    /// before uploads in parts); the caller then attaches the volumes to SUBMIT_STUDY.
    ///
    /// The upload is sent once more from the start, under a new ID, when the coordinator may
    /// have lost it. That is when its session changed while a part waited, when it rejects a
    /// part as of an unknown upload after it took earlier parts, or when a part got no
    /// acknowledgement but the coordinator then replies to STATUS.
    ///
    /// - throws: ``ClientError`` when the coordinator rejects a part, or the upload is lost
    ///   twice. The error states the megabytes acknowledged before it.
    static func send(_ volumes: [SeriesVolume], partSize: Int, label: String, client: CoordinatorClient) throws -> String? {
        do {
            return try sendParts(volumes, partSize: partSize, label: label, client: client)
        } catch let lost as UploadLost {
            if lost.cause == .noAcknowledgement {
                do {
                    _ = try client.coordinatorSession()
                } catch {
                    throw lost.error
                }
            }
            print("the coordinator \(lost.cause.rawValue), so it may have lost the upload (a restarted coordinator has no staged parts); sending the study again from the start")
            do {
                return try sendParts(volumes, partSize: partSize, label: label, client: client)
            } catch let lost as UploadLost {
                throw ClientError("\(lost.error); the upload was lost twice: if the link is slow, give a smaller --part-size",
                                  timedOut: lost.cause == .noAcknowledgement)
            }
        }
    }

    /// Returns true when the coordinator rejected a request because it no longer has `upload`:
    /// it restarted, or dropped the upload as idle (the messages of UploadStaging.swift).
    static func isDropped(_ upload: String, by error: ClientError) -> Bool {
        error.description.contains("upload \(upload) is unknown") || error.description.contains("upload \(upload) expired")
    }

    /// An upload that the coordinator may have lost, and the sign of it.
    private struct UploadLost: Error {
        enum Cause: String {
            case restarted = "restarted"
            case unknownUpload = "no longer knows the upload"
            case noAcknowledgement = "replies again but did not acknowledge a part"
        }

        let error: ClientError
        let cause: Cause
    }

    /// Sends every volume in parts under a new upload ID with a progress bar.
    ///
    /// - throws: ``UploadLost`` when a part is not acknowledged in time or is rejected as of an
    ///   unknown upload, and ``ClientError`` when it is rejected for another reason.
    private static func sendParts(_ volumes: [SeriesVolume], partSize: Int, label: String, client: CoordinatorClient) throws -> String? {
        // A coordinator that restarts while a part waits is noticed by its new session.
        let session = try client.coordinatorSession()
        let upload = UUID().uuidString
        let total = volumes.reduce(0) { $0 + $1.bytes.count }
        let bar = ProgressBar(label: label, total: total, unit: .bytes)
        var sent = 0
        bar.show(0)

        for volume in volumes {
            var offset = 0
            // An empty volume still sends one empty part, so the series exists in the upload.
            repeat {
                let end = min(offset + partSize, volume.bytes.count)
                let part = UploadPart(request: UUID().uuidString, upload: upload, seriesInstanceUID: volume.seriesInstanceUID, offset: offset)
                let bytes = volume.bytes.subdata(in: volume.bytes.startIndex + offset..<volume.bytes.startIndex + end)
                let reply: Message
                do {
                    reply = try client.request(.uploadPart(part), attachments: [Attachment(name: "part", data: bytes)],
                                               timeout: min(client.timeout, partTimeout), watching: session)
                } catch let error as ClientError where sent == 0 && error.description.contains("unknown message type \(Message.uploadPart(part).typeCode)") {
                    // A coordinator built before UPLOAD_PART existed rejects it as an unknown type.
                    bar.stop(at: 0, detail: "the coordinator does not accept uploads in parts; sending the study as one message")
                    return nil
                } catch {
                    bar.stop(at: sent)
                    let stopped = ClientError("upload stopped after \(String(format: "%.1f", Double(sent) / 1e6)) of \(String(format: "%.1f", Double(total) / 1e6)) MB: \(error)")
                    if error is CoordinatorRestarted { throw UploadLost(error: stopped, cause: .restarted) }
                    guard let error = error as? ClientError else { throw stopped }
                    if error.timedOut { throw UploadLost(error: stopped, cause: .noAcknowledgement) }
                    if sent > 0, isDropped(upload, by: error) { throw UploadLost(error: stopped, cause: .unknownUpload) }
                    throw stopped
                }
                guard case .uploadAcknowledgement(let acknowledgement) = reply else {
                    bar.stop(at: sent)
                    throw ClientError("unexpected reply \(reply.name) to UPLOAD_PART")
                }
                guard acknowledgement.seriesBytes == end else {
                    bar.stop(at: sent)
                    throw ClientError("the coordinator acknowledged \(acknowledgement.seriesBytes) bytes of a series after a part that ends at byte \(end)")
                }
                sent = acknowledgement.uploadBytes
                offset = end
                bar.show(sent)
            } while offset < volume.bytes.count
        }
        return upload
    }
}
