// `stdnet submit`: enqueues jobs through the coordinator.
import Foundation
import Imaging
import Wire

enum SubmitCommand: Command {
    static let name = "submit"
    static let summary = "submit DICOM studies (or --noop COUNT test jobs) to a coordinator"
    static let usage = """
        usage: stdnet submit FOLDER... [--phase SERIES=PHASE,...] [--wait] [OPTIONS]
               stdnet submit --nifti PHASE=FILE,... --patient ID [--study-date YYYY-MM-DD] [--modality CT|MR] [--wait] [OPTIONS]
               stdnet submit STUDY.json [--wait] [OPTIONS]
               stdnet submit --noop COUNT [--sleep-ms MS] [--wait] [OPTIONS]

        The first form reads every DICOM series under the folders, groups them by study,
        identifies each series' contrast phase and submits each study with its volumes. The
        second takes one NIfTI volume per phase; the third reads the same from a JSON file:
          {"patient": "ID", "studyDate": "YYYY-MM-DD", "modality": "CT",
           "phases": {"NC": "nc.nii.gz", "AP": "ap.nii.gz", "PV": "pv.nii.gz", "DP": "dp.nii.gz"}}
        with paths relative to the JSON file. The coordinator stores each study once (a repeated
        submission finds it again) and enqueues its analysis; tracking of the patient's lesions
        follows each analysis.

          --phase MAP         phases that override the hints: SERIES=PHASE pairs, comma-separated,
                              where SERIES is a Series Instance UID or Series Number and PHASE is NC, AP, PV or DP
          --nifti MAP         NIfTI volumes as PHASE=FILE pairs, comma-separated
          --patient ID        the patient of NIfTI volumes
          --study-date DATE   the study date of NIfTI volumes, YYYY-MM-DD
          --modality NAME     CT or MR for NIfTI volumes (default CT)
          --wait              follow the submitted studies until their analysis and the patient's
                              tracking have ended; exit status 1 if either did not succeed
          --wait-timeout S    give up waiting after S seconds (default 3600; exit status 1)
          --part-size MB      upload volumes in parts of this many MiB, each acknowledged (default 8)
          --skip-unreadable-series
                              submit what could be read when a DICOM file or a series failed to
                              read; a stored study cannot get the slices or phase later
          --noop COUNT        enqueue COUNT no-op jobs, which do nothing but report success
          --sleep-ms MS       each no-op job waits MS milliseconds before it succeeds (default 0)
        \(clientUsage(timeout: "default 300 for SUBMIT_STUDY, at most 60 for each UPLOAD_PART and 10 for each STATUS; 10 with --noop"))
        """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        if let countText = try arguments.option("noop") {
            return try submitNoop(countText, &arguments)
        }
        let mappingText = try arguments.option("phase")
        let niftiText = try arguments.option("nifti")
        let patient = try arguments.option("patient")
        let studyDate = try arguments.option("study-date")
        let modality = try arguments.option("modality")
        // Options that only NIfTI volumes given with --nifti need.
        let niftiOptions = [("--patient", patient), ("--study-date", studyDate), ("--modality", modality)]
        let wait = try arguments.flag("wait")
        let skipUnreadable = try arguments.flag("skip-unreadable-series")
        let waitTimeout = try arguments.seconds("wait-timeout", default: .seconds(3600))
        let partSize = try arguments.mebibytes("part-size", default: VolumeUpload.defaultPartSize)
        let client = try parseClient(&arguments, defaultTimeout: .seconds(300))
        let paths = try arguments.positionals()
        let mapping = try mappingText.map { try parsePhaseMapping($0, sharedPhases: false) } ?? [:]

        var uploads: [StudyUpload] = []
        var failures = 0
        if let niftiText {
            guard paths.isEmpty else { throw UsageError("give either DICOM folders or --nifti, not both") }
            uploads = [try StudyUpload(nifti: try parseFileMapping(niftiText), patientID: patient ?? "", studyDate: studyDate,
                                       modality: modality ?? "CT")]
        } else if paths.count == 1, paths[0].lowercased().hasSuffix(".json") {
            for (option, value) in niftiOptions where value != nil {
                throw UsageError("\(option) does not apply to a study JSON file: set \(StudyDescription.field(of: option)) in \(paths[0])")
            }
            uploads = [try StudyDescription.read(paths[0])]
        } else {
            guard !paths.isEmpty else { throw UsageError("nothing to submit: give DICOM folders, --nifti PHASE=FILE,..., a study JSON file, or --noop COUNT") }
            for (option, value) in niftiOptions where value != nil {
                throw UsageError("\(option) applies to NIfTI volumes only: DICOM files carry their own patient, date and modality")
            }
            if let nifti = paths.first(where: { $0.lowercased().hasSuffix(".nii") || $0.lowercased().hasSuffix(".nii.gz") }) {
                throw UsageError("\(nifti) is a NIfTI file: give NIfTI volumes with --nifti PHASE=FILE,... and --patient ID")
            }
            // A short request first, so a coordinator that is not running is reported in seconds
            // rather than after reading every file.
            _ = try client.coordinatorSession()
            let collected = try collectDICOM(paths, mapping: mapping)
            // A damaged file may be a slice of any series read, which then lacks it for good.
            guard collected.damagedFiles == 0 || skipUnreadable else {
                print("nothing submitted: \(collected.damagedFiles) DICOM file(s) could not be read (listed above), so a study may lack slices or a phase, and a stored study cannot get them later. Repair or remove the damaged files and submit again, or give --skip-unreadable-series to submit what could be read.")
                return 1
            }
            uploads = collected.studies
        }

        var submitted: [(study: Int64, job: Int64)] = []
        for study in uploads {
            guard !study.series.isEmpty else {
                failures += 1
                print("study \(study.studyInstanceUID) not submitted: none of its series could be read (see the skipped series above)")
                continue
            }
            // A study is stored once, so a phase left out now is missing for good.
            guard study.unreadablePhases.isEmpty || skipUnreadable else {
                failures += 1
                let phases = study.unreadablePhases.map(\.rawValue).joined(separator: ", ")
                print("study \(study.studyInstanceUID) not submitted: its \(phases) series could not be read (see the skipped series above), and a stored study cannot get a phase later. Repair or remove the damaged files and submit again, or give --skip-unreadable-series to submit it without that phase.")
                continue
            }
            do {
                submitted.append(try submit(study, partSize: partSize, client: client))
            } catch {
                failures += 1
                print("study \(study.studyInstanceUID) not submitted: \(error)")
            }
        }
        if uploads.isEmpty {
            print("nothing submitted: no series belongs to a study with a Study Instance UID")
            return 1
        }
        if wait && !submitted.isEmpty {
            let analysed = try waitForStudies(submitted.map(\.study), client: client, timeout: waitTimeout)
            if !analysed { failures += 1 }
        }
        return failures == 0 ? 0 : 1
    }

    /// Reads the DICOM studies under the folders with a progress bar, lists what was skipped, and
    /// returns the studies and the number of damaged DICOM files.
    private static func collectDICOM(_ paths: [String], mapping: [String: Phase]) throws -> (studies: [StudyUpload], damagedFiles: Int) {
        var bar: ProgressBar?
        let collection = try StudyCollector.collect(paths, phaseMapping: mapping) { done, total in
            if bar == nil { bar = ProgressBar(label: "reading series", total: total) }
            bar?.show(done)
        }
        // Files that are not DICOM (manifests, NIfTI) are only counted. DICOM objects that are not
        // slices (reports, plans, screenshots) get one line with an example. Damaged DICOM is listed.
        let skippedFiles = Dictionary(grouping: collection.skippedFiles, by: \.kind)
        if let notDicom = skippedFiles[.notDicom], let first = notDicom.first {
            let example = URL(fileURLWithPath: first.path).lastPathComponent
            print("skipped \(notDicom.count) file(s) that are not DICOM, such as \(example)")
        }
        if let notSlices = skippedFiles[.notASlice], let first = notSlices.first {
            print("skipped \(notSlices.count) DICOM file(s) that are not CT or MR slices, such as \(first.path): \(first.reason)")
        }
        let damaged = skippedFiles[.damaged] ?? []
        for skipped in damaged.prefix(20) {
            print("skipped file \(skipped.path): \(skipped.reason)")
        }
        if damaged.count > 20 { print("... and \(damaged.count - 20) more unreadable DICOM files") }
        for skipped in collection.skippedSeries {
            print("skipped series \(skipped.seriesInstanceUID): \(skipped.reason)")
        }
        // The assembler's warnings (missing slices resampled over, uneven spacing) concern the
        // volume that is analysed, as they do in 'stdnet convert'.
        let collected = collection.studies.flatMap(\.series)
        for series in collected {
            for warning in series.warnings {
                print("warning: series \(series.attributes.seriesInstanceUID) (\(series.phase.rawValue)): \(warning)")
            }
        }
        // A --phase key that matches nothing is most likely a typo for a series that then got a
        // phase from its hints.
        let read = collected.map(\.attributes)
        let knownKeys = Set(read.map(\.seriesInstanceUID) + read.compactMap { $0.seriesNumber.map(String.init) }
                            + collection.skippedSeries.map(\.seriesInstanceUID))
        for key in mapping.keys.sorted() where !knownKeys.contains(key) {
            print("warning: --phase names series \(key), but no series read has that Series Instance UID or Series Number")
        }
        return (collection.studies.map(StudyUpload.init), damaged.count)
    }

    private static func parseFileMapping(_ text: String) throws -> [Phase: String] {
        var files: [Phase: String] = [:]
        for pair in text.split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let phase = Phase(code: parts[0]) else {
                throw UsageError("--nifti expects PHASE=FILE pairs with PHASE one of NC, AP, PV, DP; got '\(pair)'")
            }
            if let first = files[phase] {
                throw UsageError("--nifti gives phase \(phase.rawValue) twice (\(first) and \(parts[1])): give one volume per phase")
            }
            files[phase] = parts[1]
        }
        return files
    }

    /// Polls the studies' status until each analysis has ended and no tracking of their
    /// patients waits or runs. Returns whether every analysis and the last tracking succeeded.
    private static func waitForStudies(_ studies: [Int64], client: CoordinatorClient, timeout: Duration) throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        var lastLine = ""
        var warnedAboutWorkers = false
        // Workers reconnect to a restarted coordinator within 5 s (their longest reconnect
        // interval by default) and announce themselves with their next heartbeat, so a missing
        // worker is reported only after 10 s without one.
        let missingWorkerGrace = Duration.seconds(10)
        let missingWorker = "no connected worker runs analyze jobs; start one with a model ('stdnet worker' loads Models/std-net, or give --model DIR)"
        var missingWorkerSince: ContinuousClock.Instant?
        // A coordinator whose database restarts or fails over rejects STATUS until it is back, so
        // the wait goes on through a minute of rejections.
        let rejectionGrace = Duration.seconds(60)
        var rejectedSince: ContinuousClock.Instant?
        let statusCommand = "stdnet status --study \(studies.map(String.init).joined(separator: ","))"
        while true {
            // STATUS gets the 10 s of other requests, not the client's timeout for SUBMIT_STUDY
            // (300 s by default), so that a coordinator that stopped is reported in seconds.
            let (states, workersByKind): ([StudyStatus], [String: Int]?)
            do {
                (states, workersByKind) = try client.studyStatuses(studies, replyTimeout: min(client.timeout, .seconds(10)))
                rejectedSince = nil
            } catch let error as ClientError where error.timedOut {
                throw ClientError("\(error) The studies are stored, and their analyses go on once the coordinator runs again; '\(statusCommand)' shows them.",
                                  timedOut: true)
            } catch let error as ClientError where error.isRejection {
                let since = rejectedSince ?? ContinuousClock.now
                if rejectedSince == nil {
                    print("waiting: \(error); asking again")
                    fflush(nil)
                }
                rejectedSince = since
                guard ContinuousClock.now - since < rejectionGrace, ContinuousClock.now < deadline else {
                    throw ClientError("\(error) The studies are stored; '\(statusCommand)' shows them once the coordinator's database is back.")
                }
                Thread.sleep(forTimeInterval: 1)
                continue
            }
            if states.contains(where: { $0.analysis == "queued" }), workersByKind?["analyze", default: 0] == 0 {
                let since = missingWorkerSince ?? ContinuousClock.now
                missingWorkerSince = since
                if !warnedAboutWorkers, ContinuousClock.now - since >= missingWorkerGrace {
                    print("waiting: \(missingWorker)")
                    fflush(nil)
                    warnedAboutWorkers = true
                }
            } else {
                missingWorkerSince = nil
            }
            let ended = states.filter { ["succeeded", "dead", "cancelled"].contains($0.analysis) }
            let tracked = ended.filter { $0.analysis != "succeeded" || !$0.trackingPending }
            let line = states.map { "study \($0.study): \($0.summary())" }.joined(separator: "; ")
            if line != lastLine {
                print(line)
                // Out at once also when standard output is a file, which C buffers in blocks.
                fflush(nil)
                lastLine = line
            }
            if tracked.count == states.count {
                try printAnalysisErrors(of: states.filter { $0.analysis == "dead" }, client: client)
                for study in states where ["dead", "cancelled"].contains(study.analysis) {
                    if let job = study.analyzeJob {
                        print("study \(study.study): 'stdnet retry \(job)' runs its analysis again")
                    }
                }
                return states.allSatisfy { $0.analysis == "succeeded" && $0.tracking == "succeeded" }
            }
            guard ContinuousClock.now < deadline else {
                if missingWorkerSince != nil && !warnedAboutWorkers {
                    print(missingWorker)
                }
                print("stopped waiting after \(timeout); the jobs go on (see '\(statusCommand)')")
                return false
            }
            Thread.sleep(forTimeInterval: 0.5)
        }
    }

    /// Prints the last error of each failed analysis: the reason it failed.
    private static func printAnalysisErrors(of studies: [StudyStatus], client: CoordinatorClient) throws {
        let jobs = studies.compactMap(\.analyzeJob)
        guard !jobs.isEmpty else { return }
        let errors = Dictionary(try client.jobStatuses(jobs, replyTimeout: min(client.timeout, .seconds(10))).map { ($0.id, $0.errors) }, uniquingKeysWith: { first, _ in first })
        for study in studies {
            guard let job = study.analyzeJob, let error = errors[job]?.last else { continue }
            print("study \(study.study): analysis failed, \(error)")
        }
    }

    /// Warns about each phase that covers less than a quarter of the reference phase's volume,
    /// onto whose grid the analysis resamples every phase: elsewhere the analysis has no image of
    /// that phase. A liver-only arterial phase beside an abdomen-pelvis portal venous one covers
    /// about two fifths and passes.
    private static func warnAboutSmallCoverage(of study: StudyUpload) {
        guard let referencePhase = Phase.reference(among: Set(study.series.map(\.phase))),
              let reference = study.series.first(where: { $0.phase == referencePhase }) else { return }
        for item in study.series where item.phase != referencePhase {
            let share = reference.volume.geometry.coveredShare(by: item.volume.geometry)
            guard share < 0.25 else { continue }
            print("warning: study \(study.studyInstanceUID): the \(item.phase.rawValue) volume covers \(Int((share * 100).rounded()))% of the \(referencePhase.rawValue) volume, "
                  + "onto which the analysis resamples it; elsewhere the analysis has no \(item.phase.rawValue) image. Check that the series cover the liver")
        }
    }

    /// Uploads one study's volumes in parts, then submits it, and returns its stored ID and
    /// analyze job. A coordinator without uploads in parts gets the volumes attached instead.
    private static func submit(_ study: StudyUpload, partSize: Int, client: CoordinatorClient) throws -> (study: Int64, job: Int64) {
        var series: [SubmittedSeries] = []
        var volumes: [SeriesVolume] = []
        for item in study.series {
            let geometry = item.volume.geometry
            series.append(SubmittedSeries(
                seriesInstanceUID: item.seriesInstanceUID, phase: item.phase.rawValue, description: item.description,
                size: [geometry.size.x, geometry.size.y, geometry.size.z], spacing: [geometry.spacing.x, geometry.spacing.y, geometry.spacing.z],
                origin: [geometry.origin.x, geometry.origin.y, geometry.origin.z], direction: geometry.rowMajorDirection))
            volumes.append(SeriesVolume(seriesInstanceUID: item.seriesInstanceUID, bytes: item.volume.voxels.withUnsafeBytes { Data($0) }))
        }
        if study.modality == "MR" {
            print("warning: study \(study.studyInstanceUID) is MR; the analysis normalises it with the CT window, and the model was trained on CT-like phantoms only, so its results are not meaningful")
        }
        warnAboutSmallCoverage(of: study)
        let bytes = volumes.reduce(0) { $0 + $1.bytes.count }
        var reply: Message
        var sentAgain = false
        while true {
            let upload = try VolumeUpload.send(volumes, partSize: partSize, label: "uploading \(series.count) phase(s)", client: client)
            let request = SubmitStudy(request: UUID().uuidString, patientKey: study.patientID, studyInstanceUID: study.studyInstanceUID,
                                      studyDate: study.studyDate, modality: study.modality, series: series, upload: upload)
            let attachments = upload == nil ? volumes.map { Attachment(name: $0.seriesInstanceUID, data: $0.bytes) } : []
            let label = upload == nil ? "uploading \(series.count) phase(s), \(String(format: "%.1f", Double(bytes) / 1e6)) MB" : "storing the study"
            // A coordinator that restarts loses the staged upload and the request; it is sent
            // again once. Storing is idempotent, so a study stored before the restart is found.
            do {
                let session = try client.coordinatorSession()
                reply = try ProgressLine(label: label).whileWaiting {
                    try client.request(.submitStudy(request), attachments: attachments, watching: session)
                }
                break
            } catch let error as ClientError where !sentAgain && upload.map({ VolumeUpload.isDropped($0, by: error) }) == true {
                print("the coordinator no longer knows the upload (it restarts without its staged parts); sending the study again")
            } catch is CoordinatorRestarted where !sentAgain {
                print("the coordinator restarted while the study was submitted; sending the study again")
            }
            sentAgain = true
        }
        guard case .studySubmitted(let stored) = reply else { throw ClientError("unexpected reply \(reply.name) to SUBMIT_STUDY") }
        let phases = study.series.map { "\($0.phase.rawValue) (\($0.evidence))" }.joined(separator: ", ")
        let submittedPhases = study.series.map(\.phase.rawValue)
        if stored.alreadyStored, let storedPhases = stored.storedPhases, Set(storedPhases) != Set(submittedPhases) {
            // The stored study keeps the series of its first submission, so list its phases, not
            // those of this submission.
            let notAdded = submittedPhases.filter { !storedPhases.contains($0) }
            print("study \(study.studyInstanceUID): already stored as study \(stored.study), analyze job \(stored.job), with phases \(storedPhases.joined(separator: ", "))"
                  + (notAdded.isEmpty ? "" : "; the \(notAdded.joined(separator: ", ")) series of this submission were not added, because a stored study keeps the series it was first submitted with"))
        } else {
            print("study \(study.studyInstanceUID): \(stored.alreadyStored ? "already stored as" : "stored as") study \(stored.study), analyze job \(stored.job); phases \(phases)")
        }
        if stored.alreadyStored, let job = try client.jobStatuses([stored.job]).first, ["cancelled", "dead"].contains(job.state) {
            // A stored study is not analysed again on its own, so the user learns here that no analysis will come.
            print("analyze job \(job.id) of study \(stored.study) is \(job.state) and will not run: 'stdnet retry \(job.id)' runs it again")
        }
        return (stored.study, stored.job)
    }

    private static func submitNoop(_ countText: String, _ arguments: inout Arguments) throws -> Int32 {
        guard let count = Int(countText), count >= 1 else { throw UsageError("--noop expects a positive count, got '\(countText)'") }
        let sleep = try arguments.integer("sleep-ms", default: 0)
        guard sleep >= 0 else { throw UsageError("--sleep-ms expects milliseconds, 0 or more, got \(sleep)") }
        let wait = try arguments.flag("wait")
        let waitTimeout = try arguments.seconds("wait-timeout", default: .seconds(3600))
        let client = try parseClient(&arguments)
        try arguments.finish()

        let payload = sleep > 0 ? "{\"sleepMilliseconds\": \(sleep)}" : "{}"
        let reply = try client.request(.submitNoop(SubmitNoop(request: UUID().uuidString, count: count, payload: payload)))
        guard case .submitted(let submitted) = reply else { throw ClientError("unexpected reply \(reply.name) to SUBMIT_NOOP") }
        let first = submitted.jobs.first ?? 0
        let last = submitted.jobs.last ?? 0
        print("submitted \(submitted.jobs.count) no-op job(s): IDs \(first)...\(last)")
        guard wait else { return 0 }
        return try waitForJobs(submitted.jobs, client: client, timeout: waitTimeout)
    }

    /// Polls STATUS until every job has ended or `timeout` has passed; prints a line when the
    /// counts change. Returns 0 when every job succeeded, else 1.
    static func waitForJobs(_ jobs: [Int64], client: CoordinatorClient, timeout: Duration) throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        var lastLine = ""
        while true {
            let ended = try client.jobStatuses(jobs).filter { ["succeeded", "dead", "cancelled"].contains($0.state) }
            let succeeded = ended.filter { $0.state == "succeeded" }.count
            let line = "\(succeeded) succeeded, \(ended.count - succeeded) failed or cancelled, \(jobs.count - ended.count) pending"
            if line != lastLine {
                print(line)
                // Out at once also when standard output is a file, which C buffers in blocks.
                fflush(nil)
                lastLine = line
            }
            if ended.count == jobs.count { return succeeded == jobs.count ? 0 : 1 }
            guard ContinuousClock.now < deadline else {
                print("stopped waiting after \(timeout); the jobs go on (see 'stdnet status')")
                return 1
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
    }
}
