// Reads a study's blobs for the event loop on a thread of its own: the volumes an analyze job
// carries to its worker, and the files an EXPORT returns. A study's volumes take hundreds of
// megabytes. Read on the event loop, they stopped heartbeats for seconds, so workers took the
// coordinator for gone.
import Foundation
import JobStore
import Wire

/// A serial queue of blob reads with its own database connection. The event loop hands over
/// each read and collects the outcomes, and it sends the messages itself, because ZeroMQ
/// sockets must stay on one thread.
final class BackgroundReads: @unchecked Sendable {
    /// One finished read.
    enum Outcome {
        /// The inputs of an analyze attempt claimed for `worker`.
        case analyzeInputs(attempt: JobAttempt, kind: String, worker: String, result: Result<AnalyzeInputs, Error>)
        /// The reply to an EXPORT request of `client`.
        case export(request: ExportRequest, client: Data, result: Result<(reply: Message, files: [Attachment]), Error>)
    }

    private let store: StudyStore
    private let work = BackgroundWork<Outcome>(label: "stdnet.coordinator.blob-reads")

    init(connection: Connection) {
        store = StudyStore(connection: connection)
    }

    /// Queues the reading of an analyze attempt's inputs.
    func readAnalyzeInputs(of job: ClaimedJob, study: Int64, for worker: String) {
        work.run { [self] in
            .analyzeInputs(attempt: JobAttempt(job: job.id, attempt: job.attempt), kind: job.kind, worker: worker,
                           result: Result { try AnalyzeInputs.read(study: study, from: store) })
        }
    }

    /// Queues an export: the audit record and the reading of the study's result files.
    func export(_ request: ExportRequest, for client: Data) {
        work.run { [self] in
            .export(request: request, client: client, result: Result { try Coordinator.export(request, from: store) })
        }
    }

    /// Returns the reads that finished since the last call, in the order they finished.
    func takeFinished() -> [Outcome] {
        work.takeFinished()
    }

    /// Whether a read is running or waits to, or its outcome waits to be taken.
    var isBusy: Bool {
        work.isBusy
    }
}

/// The payload and attachments of an analyze job: every series' phase and grid, and its volume
/// (Float32, little endian, i fastest) as an attachment named by the phase.
struct AnalyzeInputs: Sendable {
    let payload: String
    let attachments: [Attachment]

    static func read(study: Int64, from store: StudyStore) throws -> AnalyzeInputs {
        let rows = try store.connection.execute("""
            SELECT phase, array_to_json(size), array_to_json(spacing), array_to_json(origin), array_to_json(direction), volume_sha256,
                   (SELECT modality FROM studies WHERE id = $1)
            FROM series WHERE study_id = $1 ORDER BY phase
            """, [study]).rows
        var series: [String] = []
        var attachments: [Attachment] = []
        for row in rows {
            series.append("{\"phase\": \"\(row[0]!)\", \"size\": \(row[1]!), \"spacing\": \(row[2]!), \"origin\": \(row[3]!), \"direction\": \(row[4]!)}")
            attachments.append(Attachment(name: row[0]!, data: try store.readBlob(row[5]!)))
        }
        let modality = rows.first?[6] ?? "CT"
        return AnalyzeInputs(
            payload: "{\"study\": \(study), \"modality\": \"\(modality)\", \"series\": [\(series.joined(separator: ", "))]}",
            attachments: attachments)
    }
}
