// Study submissions at the coordinator: checked, stored with their volumes and enqueued for
// analysis in one transaction.
import Foundation
import JobStore
import Wire

extension Coordinator {
    func submitStudy(_ submission: SubmitStudy, attachments: [Attachment], from client: Data) throws {
        var volumes: [Data] = []
        for series in submission.series {
            guard let attachment = attachments.first(where: { $0.name == series.seriesInstanceUID }) else {
                reply(.error(ErrorReply(request: submission.request, message: "series \(series.seriesInstanceUID) has no volume attached")), to: client)
                return
            }
            volumes.append(attachment.data)
        }
        let record = StudyRecord(
            patientKey: submission.patientKey, studyInstanceUID: submission.studyInstanceUID, studyDate: submission.studyDate,
            modality: submission.modality,
            series: submission.series.map {
                SeriesRecord(seriesInstanceUID: $0.seriesInstanceUID, phase: $0.phase, description: $0.description,
                             size: $0.size, spacing: $0.spacing, origin: $0.origin, direction: $0.direction)
            })
        do {
            let stored = try studies.store(record, volumes: volumes)
            if stored.inserted { workMayBeQueued = true }
            logger.info(stored.inserted ? "study stored" : "study already stored",
                        ["study": stored.studyID, "patient": stored.patientID, "job": stored.analyzeJobID, "series": submission.series.count])
            reply(.studySubmitted(StudySubmitted(request: submission.request, study: stored.studyID, job: stored.analyzeJobID,
                                                 alreadyStored: !stored.inserted)), to: client)
        } catch let error as SubmissionError {
            // The reason names DICOM UIDs, which can identify a patient: it goes to the client only.
            logger.warning("study submission rejected", ["series": submission.series.count])
            reply(.error(ErrorReply(request: submission.request, message: error.description)), to: client)
        }
    }
}
