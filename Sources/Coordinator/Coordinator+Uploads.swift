// Uploads in parts at the coordinator: UPLOAD_PART is staged and acknowledged, idle uploads are
// dropped on every sweep. SUBMIT_STUDY then takes the staged volumes (Coordinator+Studies.swift).
import Foundation
import Wire

extension Coordinator {
    /// Stages one part and replies with UPLOAD_ACK, or with ERROR when the part is rejected.
    func uploadPart(_ part: UploadPart, attachments: [Attachment], from client: Data) {
        guard attachments.count == 1 else {
            uploadErrors.report("upload part rejected", LogText("\(attachments.count) attachments, expected 1"), .warning)
            reply(.error(ErrorReply(request: part.request, message: "UPLOAD_PART has \(attachments.count) attachments, expected 1 with the part's bytes")), to: client)
            return
        }
        let isNew = uploads.uploads[part.upload] == nil
        do {
            let staged = try uploads.stage(part, bytes: attachments[0].data, at: .now)
            if isNew {
                logger.info("upload started", ["upload": part.upload, "staged_bytes_all_uploads": uploads.totalBytes])
            }
            reply(.uploadAcknowledgement(UploadAcknowledgement(request: part.request, upload: part.upload, seriesInstanceUID: part.seriesInstanceUID,
                                                               seriesBytes: staged.seriesBytes, uploadBytes: staged.uploadBytes)), to: client)
        } catch {
            uploadErrors.report("upload part rejected", LogText(error.logDescription), .warning)
            reply(.error(ErrorReply(request: part.request, message: error.description)), to: client)
        }
    }

    /// Drops the uploads that received nothing for the idle timeout, so that a client that went
    /// away leaves no staged bytes behind.
    func dropIdleUploads() {
        for dropped in uploads.dropIdle(at: .now) {
            logger.warning("idle upload dropped", ["upload": dropped.id, "staged_bytes": dropped.bytes,
                                                   "idle_timeout_ms": configuration.uploadIdleTimeout.milliseconds])
        }
    }
}

/// Text that is safe to log, passed where the rate-limited log expects an error.
struct LogText: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
