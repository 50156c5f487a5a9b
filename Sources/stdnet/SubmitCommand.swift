// `stdnet submit`: enqueues jobs through the coordinator.
import Foundation
import Imaging
import Wire

enum SubmitCommand: Command {
    static let name = "submit"
    static let summary = "submit DICOM studies (or --noop COUNT test jobs) to a coordinator"
    static let usage = """
        usage: stdnet submit PATH... [--phase SERIES=PHASE,...] [OPTIONS]
               stdnet submit --noop COUNT [--sleep-ms MS] [--wait] [OPTIONS]

        The first form reads every DICOM series under the folders, groups them by study,
        identifies each series' contrast phase and submits each study with its volumes. The
        coordinator stores the study once (a repeated submission finds it again) and enqueues
        its analysis.

          --phase MAP         phases that override the hints: SERIES=PHASE pairs, comma-separated,
                              where SERIES is a Series Instance UID or Series Number and PHASE is NC, AP, PV or DP
          --noop COUNT        enqueue COUNT no-op jobs, which do nothing but report success
          --sleep-ms MS       each no-op job waits MS milliseconds before it succeeds (default 0)
          --wait              follow the no-op jobs until every one has ended; exit status 1 if any did not succeed
        \(clientUsage)
        """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        if let countText = try arguments.option("noop") {
            return try submitNoop(countText, &arguments)
        }
        let mappingText = try arguments.option("phase")
        let client = try parseClient(&arguments, defaultTimeout: .seconds(300))
        let paths = try arguments.positionals()
        guard !paths.isEmpty else { throw UsageError("nothing to submit: give DICOM folders, or --noop COUNT") }
        let mapping = try parsePhaseMapping(mappingText)
        // A short request first, so a coordinator that is not running is reported in seconds
        // rather than after the upload timeout.
        _ = try client.request(.status(StatusRequest(request: UUID().uuidString)), timeout: min(client.timeout, .seconds(10)))

        let collection = try StudyCollector.collect(paths, phaseMapping: mapping) { line in
            FileHandle.standardError.write(Data("  \(line)\n".utf8))
        }
        // Files that are not DICOM at all (manifests, NIfTI) are only counted; damaged DICOM is listed.
        let notDicom = collection.skippedFiles.filter { $0.reason.contains("no DICM prefix") }
        let damaged = collection.skippedFiles.filter { !$0.reason.contains("no DICM prefix") }
        if !notDicom.isEmpty { print("skipped \(notDicom.count) file(s) that are not DICOM") }
        for skipped in damaged.prefix(20) {
            print("skipped file \(skipped.path): \(skipped.reason)")
        }
        if damaged.count > 20 { print("... and \(damaged.count - 20) more unreadable DICOM files") }
        for skipped in collection.skippedSeries {
            print("skipped series \(skipped.seriesInstanceUID): \(skipped.reason)")
        }

        var failures = 0
        for study in collection.studies {
            guard !study.series.isEmpty else {
                failures += 1
                print("study \(study.studyInstanceUID) not submitted: none of its series could be read (see the skipped series above)")
                continue
            }
            do {
                try submit(study, client: client)
            } catch {
                failures += 1
                print("study \(study.studyInstanceUID) not submitted: \(error)")
            }
        }
        if collection.studies.isEmpty {
            print("nothing submitted: no series belongs to a study with a Study Instance UID")
            return 1
        }
        return failures == 0 ? 0 : 1
    }

    private static func submit(_ study: CollectedStudy, client: CoordinatorClient) throws {
        var series: [SubmittedSeries] = []
        var attachments: [Attachment] = []
        for item in study.series {
            let geometry = item.volume.geometry
            let direction = (0..<3).flatMap { row in (0..<3).map { column in geometry.direction[row, column] } }
            series.append(SubmittedSeries(
                seriesInstanceUID: item.attributes.seriesInstanceUID, phase: item.phase.rawValue, description: item.attributes.seriesDescription,
                size: [geometry.size.x, geometry.size.y, geometry.size.z], spacing: [geometry.spacing.x, geometry.spacing.y, geometry.spacing.z],
                origin: [geometry.origin.x, geometry.origin.y, geometry.origin.z], direction: direction))
            attachments.append(Attachment(name: item.attributes.seriesInstanceUID,
                                          data: item.volume.voxels.withUnsafeBytes { Data($0) }))
        }
        let megabytes = Double(attachments.reduce(0) { $0 + $1.data.count }) / 1e6
        FileHandle.standardError.write(Data("  uploading study \(study.studyInstanceUID): \(series.count) phase(s), \(String(format: "%.1f", megabytes)) MB\n".utf8))
        let request = SubmitStudy(request: UUID().uuidString, patientKey: study.patientID, studyInstanceUID: study.studyInstanceUID,
                                  studyDate: study.studyDate, modality: study.modality, series: series)
        let reply = try client.request(.submitStudy(request), attachments: attachments)
        guard case .studySubmitted(let stored) = reply else { throw ClientError("unexpected reply \(reply.name) to SUBMIT_STUDY") }
        let phases = study.series.map { "\($0.phase.rawValue) (\($0.evidence))" }.joined(separator: ", ")
        print("study \(study.studyInstanceUID): \(stored.alreadyStored ? "already stored as" : "stored as") study \(stored.study), analyze job \(stored.job); phases \(phases)")
    }

    private static func parsePhaseMapping(_ text: String?) throws -> [String: Phase] {
        guard let text else { return [:] }
        var mapping: [String: Phase] = [:]
        for pair in text.split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let phase = Phase(code: parts[1]) else {
                throw UsageError("--phase expects SERIES=PHASE pairs with PHASE one of NC, AP, PV, DP; got '\(pair)'")
            }
            mapping[parts[0]] = phase
        }
        return mapping
    }

    private static func submitNoop(_ countText: String, _ arguments: inout Arguments) throws -> Int32 {
        guard let count = Int(countText), count >= 1 else { throw UsageError("--noop expects a positive count, got '\(countText)'") }
        let sleep = try arguments.integer("sleep-ms", default: 0)
        let wait = arguments.flag("wait")
        let client = try parseClient(&arguments)
        try arguments.finish()

        let payload = sleep > 0 ? "{\"sleepMilliseconds\": \(sleep)}" : "{}"
        let reply = try client.request(.submitNoop(SubmitNoop(request: UUID().uuidString, count: count, payload: payload)))
        guard case .submitted(let submitted) = reply else { throw ClientError("unexpected reply \(reply.name) to SUBMIT_NOOP") }
        let first = submitted.jobs.first ?? 0
        let last = submitted.jobs.last ?? 0
        print("submitted \(submitted.jobs.count) no-op job(s): IDs \(first)...\(last)")
        guard wait else { return 0 }
        return try waitForJobs(submitted.jobs, client: client)
    }

    /// Polls STATUS until every job has ended; prints a line when the counts change.
    static func waitForJobs(_ jobs: [Int64], client: CoordinatorClient) throws -> Int32 {
        var lastLine = ""
        while true {
            var ended: [JobStatus] = []
            for start in stride(from: 0, to: jobs.count, by: 5000) {
                let reply = try client.request(.status(StatusRequest(request: UUID().uuidString, jobs: Array(jobs[start..<min(start + 5000, jobs.count)]))))
                guard case .statusReply(let status) = reply else { throw ClientError("unexpected reply \(reply.name) to STATUS") }
                ended += status.jobs.filter { ["succeeded", "dead", "cancelled"].contains($0.state) }
            }
            let succeeded = ended.filter { $0.state == "succeeded" }.count
            let line = "\(succeeded) succeeded, \(ended.count - succeeded) failed or cancelled, \(jobs.count - ended.count) pending"
            if line != lastLine {
                print(line)
                lastLine = line
            }
            if ended.count == jobs.count { return succeeded == jobs.count ? 0 : 1 }
            Thread.sleep(forTimeInterval: 0.2)
        }
    }
}
