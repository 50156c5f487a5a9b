// Volumes that clients send in parts (UPLOAD_PART) before the SUBMIT_STUDY that names them,
// kept in memory per upload, bounded per upload and in total, and dropped when idle.
import Foundation
import Wire

/// The staged uploads of one coordinator. Owned by the event-loop thread.
struct UploadStaging {
    /// The staged bytes of one upload, per Series Instance UID.
    struct Upload {
        var volumes: [String: Data] = [:]
        var byteCount = 0
        var lastActivity: ContinuousClock.Instant
    }

    /// A part that was not staged. Its `description` goes to the client and names the upload,
    /// the series and the values at fault.
    struct Rejection: Error, CustomStringConvertible {
        let description: String
        /// The same without Series Instance UIDs, which can identify a patient, for the log.
        let logDescription: String
    }

    let limit: Int
    let totalLimit: Int
    let idleTimeout: Duration
    private(set) var uploads: [String: Upload] = [:]
    /// Bytes staged by all uploads.
    private(set) var totalBytes = 0
    /// IDs of uploads dropped for idleness, oldest first, so that a late part learns why its
    /// upload is gone. Capped at `expiredMemory` entries.
    private var expired: [String] = []
    private var expiredSet: Set<String> = []
    private let expiredMemory = 1000

    init(limit: Int, totalLimit: Int, idleTimeout: Duration) {
        self.limit = limit
        self.totalLimit = totalLimit
        self.idleTimeout = idleTimeout
    }

    /// Appends `bytes` to the series' staged volume and returns the series' and the upload's
    /// staged byte counts. An offset 0 part of an unknown upload ID starts the upload.
    ///
    /// - throws: ``Rejection`` for an invalid, unknown or expired upload ID, an offset other
    ///   than the bytes staged so far, or a part above a limit. A part above a limit drops its upload, because
    ///   the upload can no longer complete; the other rejections leave the upload as it was.
    mutating func stage(_ part: UploadPart, bytes: Data, at now: ContinuousClock.Instant) throws(Rejection) -> (seriesBytes: Int, uploadBytes: Int) {
        // The ID is logged, so it is kept to the characters of the UUIDs that clients draw.
        guard (1...64).contains(part.upload.count), part.upload.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
            throw Rejection(description: "upload ID '\(part.upload.prefix(80))' is invalid: use 1 to 64 ASCII letters, digits or hyphens, such as a UUID",
                            logDescription: "invalid upload ID of \(part.upload.count) characters")
        }
        // No copy of the staged upload is bound here: one would share the volumes' storage, and
        // the append below would then copy the whole volume for every part.
        guard uploads[part.upload] != nil || part.offset == 0 else {
            throw Rejection(description: unknownMessage(part.upload, "The first part of an upload must have offset 0."),
                            logDescription: "unknown or expired upload \(part.upload)")
        }
        let staged = uploads[part.upload]?.volumes[part.seriesInstanceUID]?.count ?? 0
        let uploadBytes = uploads[part.upload]?.byteCount ?? 0
        guard part.offset == staged else {
            throw Rejection(description: "upload \(part.upload): the part of series \(part.seriesInstanceUID) has offset \(part.offset), expected \(staged) (the bytes staged so far)",
                            logDescription: "upload \(part.upload): part has offset \(part.offset), expected \(staged)")
        }

        // Limits are checked before anything is appended, so a rejected part leaves no bytes behind.
        if uploadBytes + bytes.count > limit {
            drop(part.upload)
            throw Rejection(description: "upload \(part.upload) was dropped: \(uploadBytes + bytes.count) bytes would exceed the limit of \(limit) bytes per upload (coordinator option --upload-limit)",
                            logDescription: "upload \(part.upload) dropped above the limit of \(limit) bytes per upload")
        }
        if totalBytes + bytes.count > totalLimit {
            drop(part.upload)
            throw Rejection(description: "upload \(part.upload) was dropped: the coordinator would stage \(totalBytes + bytes.count) bytes for all uploads, above its limit of \(totalLimit) bytes (coordinator option --upload-total-limit). Send the study again when other uploads have ended.",
                            logDescription: "upload \(part.upload) dropped above the limit of \(totalLimit) bytes for all uploads")
        }

        uploads[part.upload, default: Upload(lastActivity: now)].volumes[part.seriesInstanceUID, default: Data()].append(bytes)
        uploads[part.upload]!.byteCount += bytes.count
        uploads[part.upload]!.lastActivity = now
        totalBytes += bytes.count
        return (staged + bytes.count, uploadBytes + bytes.count)
    }

    /// Removes an upload and returns its staged volumes per Series Instance UID.
    ///
    /// - throws: ``Rejection`` when the upload is unknown or expired.
    mutating func take(_ id: String) throws(Rejection) -> [String: Data] {
        guard let upload = uploads[id] else {
            throw Rejection(description: unknownMessage(id, "Send its parts with UPLOAD_PART before the SUBMIT_STUDY that names it."),
                            logDescription: "unknown or expired upload \(id)")
        }
        drop(id)
        return upload.volumes
    }

    /// Drops the uploads without activity for the idle timeout and returns their IDs with the
    /// bytes each had staged.
    mutating func dropIdle(at now: ContinuousClock.Instant) -> [(id: String, bytes: Int)] {
        let idle = uploads.filter { now - $0.value.lastActivity >= idleTimeout }
        for id in idle.keys {
            drop(id)
            expired.append(id)
            expiredSet.insert(id)
        }
        while expired.count > expiredMemory {
            expiredSet.remove(expired.removeFirst())
        }
        return idle.map { ($0.key, $0.value.byteCount) }
    }

    private mutating func drop(_ id: String) {
        guard let upload = uploads.removeValue(forKey: id) else { return }
        totalBytes -= upload.byteCount
    }

    private func unknownMessage(_ id: String, _ advice: String) -> String {
        if expiredSet.contains(id) {
            return "upload \(id) expired: it received no part for \(String(format: "%g", Double(idleTimeout.milliseconds) / 1000)) s and was dropped. Send the study again."
        }
        return "upload \(id) is unknown. \(advice)"
    }
}
