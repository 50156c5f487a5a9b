// Stores submitted studies on a thread of their own. Writing a study of hundreds of megabytes
// takes seconds. On the event loop it stopped heartbeats and lease extensions for that long, so
// busy workers were declared dead and their jobs started over.
import Foundation
import JobStore
import Wire

/// A serial queue of study stores with its own database connection. The event loop hands over
/// each checked submission and collects the outcomes, and it sends the replies itself, because
/// ZeroMQ sockets must stay on one thread.
final class BackgroundStudyStore: @unchecked Sendable {
    /// One finished store: its request, the client to reply to, and the result.
    struct Outcome {
        let submission: SubmitStudy
        let client: Data
        let result: Result<StoredStudy, Error>
    }

    private let store: StudyStore
    private let work = BackgroundWork<Outcome>(label: "stdnet.coordinator.study-store")

    init(connection: Connection) {
        store = StudyStore(connection: connection)
    }

    /// Queues a study for storing; its outcome comes back from `takeFinished()`.
    func store(_ record: StudyRecord, volumes: [Data], for submission: SubmitStudy, client: Data) {
        work.run { [self] in
            Outcome(submission: submission, client: client, result: Result { try store.store(record, volumes: volumes) })
        }
    }

    /// Returns the stores that finished since the last call, in the order they finished.
    func takeFinished() -> [Outcome] {
        work.takeFinished()
    }

    /// Whether a study is being stored or waits to be, or its outcome waits to be taken.
    var isBusy: Bool {
        work.isBusy
    }
}
