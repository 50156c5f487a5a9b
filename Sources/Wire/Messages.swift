// The messages of the worker protocol (coordinator ROUTER <-> worker DEALER) and the client
// protocol (coordinator's client ROUTER <-> `stdnet` client DEALER). Docs/protocol.md describes
// each message, its fields and its errors.

/// A job and the attempt that runs it: the pair every fenced message names.
public struct JobAttempt: Codable, Sendable, Hashable {
    public let job: Int64
    public let attempt: Int

    public init(job: Int64, attempt: Int) {
        self.job = job
        self.attempt = attempt
    }
}

// MARK: Worker protocol

/// Worker -> coordinator: grants `slots` more jobs to this coordinator.
public struct Ready: Codable, Sendable, Equatable {
    public let worker: String
    /// Random per worker process: a new value under a known name means the worker restarted.
    public let session: String
    public let slots: Int
    public let capacity: Int
    public let modelVersion: String
    public let kinds: [String]

    public init(worker: String, session: String, slots: Int, capacity: Int, modelVersion: String, kinds: [String]) {
        self.worker = worker
        self.session = session
        self.slots = slots
        self.capacity = capacity
        self.modelVersion = modelVersion
        self.kinds = kinds
    }
}

/// Coordinator -> worker: one attempt to run, with its inputs as attachments.
public struct JobOrder: Codable, Sendable, Equatable {
    public let job: Int64
    public let attempt: Int
    public let kind: String
    /// The job's JSON payload as text.
    public let payload: String
    /// How long the lease lasts without a heartbeat, in milliseconds.
    public let leaseMilliseconds: Int

    public init(job: Int64, attempt: Int, kind: String, payload: String, leaseMilliseconds: Int) {
        self.job = job
        self.attempt = attempt
        self.kind = kind
        self.payload = payload
        self.leaseMilliseconds = leaseMilliseconds
    }
}

/// Worker -> coordinator: how far an attempt has come.
public struct Progress: Codable, Sendable, Equatable {
    public let job: Int64
    public let attempt: Int
    /// Completed fraction, 0...1.
    public let fraction: Double
    public let stage: String

    public init(job: Int64, attempt: Int, fraction: Double, stage: String) {
        self.job = job
        self.attempt = attempt
        self.fraction = fraction
        self.stage = stage
    }
}

/// Worker -> coordinator: an attempt succeeded; outputs follow as attachments.
public struct JobResult: Codable, Sendable, Equatable {
    public let job: Int64
    public let attempt: Int
    /// The result as JSON text.
    public let result: String

    public init(job: Int64, attempt: Int, result: String) {
        self.job = job
        self.attempt = attempt
        self.result = result
    }
}

/// Worker -> coordinator: an attempt failed.
public struct JobFailure: Codable, Sendable, Equatable {
    public let job: Int64
    public let attempt: Int
    public let error: String
    /// False when running the job again cannot help (invalid input).
    public let retryable: Bool

    public init(job: Int64, attempt: Int, error: String, retryable: Bool) {
        self.job = job
        self.attempt = attempt
        self.error = error
        self.retryable = retryable
    }
}

/// Both ways, every heartbeat interval.
public struct Heartbeat: Codable, Sendable, Equatable {
    public let sender: String
    /// Random per process: a new value from a known peer means it restarted.
    public let session: String
    /// Worker -> coordinator: the attempts it is running for this coordinator's database.
    public let running: [JobAttempt]
    /// Coordinator -> worker: true when the coordinator does not know this worker (it restarted,
    /// or declared the worker dead); the worker then grants its slots again with READY.
    public let hello: Bool

    public init(sender: String, session: String, running: [JobAttempt] = [], hello: Bool = false) {
        self.sender = sender
        self.session = session
        self.running = running
        self.hello = hello
    }
}

/// Either way: the sender is shutting down and takes no more work.
public struct Bye: Codable, Sendable, Equatable {
    public let sender: String

    public init(sender: String) { self.sender = sender }
}

/// Coordinator -> worker: stop an attempt that no longer holds its job (cancelled, lease lost).
public struct Abandon: Codable, Sendable, Equatable {
    public let job: Int64
    public let attempt: Int
    public let reason: String

    public init(job: Int64, attempt: Int, reason: String) {
        self.job = job
        self.attempt = attempt
        self.reason = reason
    }
}

/// Coordinator -> worker: whether a RESULT or FAILED was recorded.
public struct Acknowledgement: Codable, Sendable, Equatable {
    public let job: Int64
    public let attempt: Int
    public let accepted: Bool
    /// The reason for a rejection; nil when accepted.
    public let reason: String?

    public init(job: Int64, attempt: Int, accepted: Bool, reason: String? = nil) {
        self.job = job
        self.attempt = attempt
        self.accepted = accepted
        self.reason = reason
    }
}

// MARK: Client protocol

/// Client -> coordinator: enqueue no-op jobs, for tests and the queue benchmark.
public struct SubmitNoop: Codable, Sendable, Equatable {
    public let request: String
    public let count: Int
    /// The payload of every job: `{"sleepMilliseconds": N}` makes the worker wait N ms.
    public let payload: String

    public init(request: String, count: Int, payload: String = "{}") {
        self.request = request
        self.count = count
        self.payload = payload
    }
}

/// Client -> coordinator: one study to store and analyse. The header describes the study and
/// its series. Each series' volume (Float32 little endian, i fastest) is either staged before
/// with UPLOAD_PART under `upload`, or, when `upload` is nil, attached to this message under
/// the series' Series Instance UID.
public struct SubmitStudy: Codable, Sendable, Equatable {
    public let request: String
    /// Patient ID; stored to link the patient's studies, never logged.
    public let patientKey: String
    public let studyInstanceUID: String
    /// ISO date (YYYY-MM-DD), if known.
    public let studyDate: String?
    /// CT or MR.
    public let modality: String
    public let series: [SubmittedSeries]
    /// The upload whose staged parts hold the volumes; nil when the volumes are attached.
    public let upload: String?

    public init(request: String, patientKey: String, studyInstanceUID: String, studyDate: String?, modality: String, series: [SubmittedSeries],
                upload: String? = nil) {
        self.request = request
        self.patientKey = patientKey
        self.studyInstanceUID = studyInstanceUID
        self.studyDate = studyDate
        self.modality = modality
        self.series = series
        self.upload = upload
    }
}

/// Client -> coordinator: the next bytes of one series' volume in an upload, as the message's
/// only attachment. The first part of an unknown upload ID starts the upload.
public struct UploadPart: Codable, Sendable, Equatable {
    public let request: String
    /// A random ID (a UUID) that the client draws and names again in SUBMIT_STUDY.
    public let upload: String
    public let seriesInstanceUID: String
    /// Byte offset of the attached bytes in the series' volume, equal to the bytes staged so far.
    public let offset: Int

    public init(request: String, upload: String, seriesInstanceUID: String, offset: Int) {
        self.request = request
        self.upload = upload
        self.seriesInstanceUID = seriesInstanceUID
        self.offset = offset
    }
}

/// Coordinator -> client: an UPLOAD_PART was staged.
public struct UploadAcknowledgement: Codable, Sendable, Equatable {
    public let request: String
    public let upload: String
    public let seriesInstanceUID: String
    /// Bytes of this series staged so far: the offset of its next part.
    public let seriesBytes: Int
    /// Bytes of all series of the upload staged so far.
    public let uploadBytes: Int

    public init(request: String, upload: String, seriesInstanceUID: String, seriesBytes: Int, uploadBytes: Int) {
        self.request = request
        self.upload = upload
        self.seriesInstanceUID = seriesInstanceUID
        self.seriesBytes = seriesBytes
        self.uploadBytes = uploadBytes
    }
}

/// One series of SUBMIT_STUDY: its phase and grid.
public struct SubmittedSeries: Codable, Sendable, Equatable {
    public let seriesInstanceUID: String
    /// NC, AP, PV or DP.
    public let phase: String
    public let description: String?
    /// Voxels along i, j, k.
    public let size: [Int]
    /// Spacing in mm along i, j, k.
    public let spacing: [Double]
    /// LPS position of the first voxel, in mm.
    public let origin: [Double]
    /// Direction cosines of i, j, k as columns, row-major.
    public let direction: [Double]

    public init(seriesInstanceUID: String, phase: String, description: String?, size: [Int], spacing: [Double], origin: [Double], direction: [Double]) {
        self.seriesInstanceUID = seriesInstanceUID
        self.phase = phase
        self.description = description
        self.size = size
        self.spacing = spacing
        self.origin = origin
        self.direction = direction
    }
}

/// Coordinator -> client: where a submitted study was stored and which job analyses it.
public struct StudySubmitted: Codable, Sendable, Equatable {
    public let request: String
    public let study: Int64
    public let job: Int64
    /// True when the study had been stored before; nothing was written again.
    public let alreadyStored: Bool
    /// The phases stored for the study (NC, AP, PV, DP order). When `alreadyStored`, they are
    /// those of the first submission, whatever this one carried. Nil from older coordinators.
    public let storedPhases: [String]?

    public init(request: String, study: Int64, job: Int64, alreadyStored: Bool, storedPhases: [String]? = nil) {
        self.request = request
        self.study = study
        self.job = job
        self.alreadyStored = alreadyStored
        self.storedPhases = storedPhases
    }
}

/// Client -> coordinator: a patient's lesion history. Every such read is written to the audit log
/// with the user named here.
public struct HistoryRequest: Codable, Sendable, Equatable {
    public let request: String
    /// Patient ID as in the studies' DICOM files.
    public let patientKey: String
    /// Who asks, for the audit log.
    public let user: String

    public init(request: String, patientKey: String, user: String) {
        self.request = request
        self.patientKey = patientKey
        self.user = user
    }
}

/// One lesion of one study in a HISTORY_REPLY.
public struct LesionHistoryEntry: Codable, Sendable, Equatable {
    public let lesionIndex: Int
    /// The patient's track number (1, 2, ...); nil until tracking has linked the lesion.
    public let track: Int?
    public let volumeMillilitres: Double
    public let longestAxialMillimetres: Double
    public let perpendicularMillimetres: Double
    public let maximumDiameterMillimetres: Double
    /// mRECIST's viable (arterially enhancing) diameter; nil without an arterial phase.
    public let viableAxialMillimetres: Double?
    /// LPS position in mm.
    public let centroid: [Double]
    /// LI-RADS category, with threshold growth once tracking has given the lesion a history.
    public let category: String
    public let thresholdGrowth: Bool
    /// Enhancement features: `arterialEnhancement` (none, nonrim, rim, or "not assessed" without an
    /// arterial phase), `nonperipheralWashout`, `enhancingCapsule`.
    public let features: [String: String]
    /// The characterisation head's class probabilities, when it ran; never part of the category.
    public let classProbabilities: [String: Double]?

    public init(lesionIndex: Int, track: Int?, volumeMillilitres: Double, longestAxialMillimetres: Double,
                perpendicularMillimetres: Double, maximumDiameterMillimetres: Double, viableAxialMillimetres: Double?,
                centroid: [Double], category: String, thresholdGrowth: Bool, features: [String: String],
                classProbabilities: [String: Double]?) {
        self.lesionIndex = lesionIndex
        self.track = track
        self.volumeMillilitres = volumeMillilitres
        self.longestAxialMillimetres = longestAxialMillimetres
        self.perpendicularMillimetres = perpendicularMillimetres
        self.maximumDiameterMillimetres = maximumDiameterMillimetres
        self.viableAxialMillimetres = viableAxialMillimetres
        self.centroid = centroid
        self.category = category
        self.thresholdGrowth = thresholdGrowth
        self.features = features
        self.classProbabilities = classProbabilities
    }
}

/// The response of one follow-up study under one set of criteria.
public struct ResponseHistoryEntry: Codable, Sendable, Equatable {
    /// "RECIST 1.1" or "mRECIST".
    public let criteria: String
    /// CR, PR, SD or PD.
    public let category: String
    public let sumMillimetres: Double
    public let baselineSumMillimetres: Double
    public let nadirSumMillimetres: Double
    public let newLesionTracks: [Int]

    public init(criteria: String, category: String, sumMillimetres: Double, baselineSumMillimetres: Double,
                nadirSumMillimetres: Double, newLesionTracks: [Int]) {
        self.criteria = criteria
        self.category = category
        self.sumMillimetres = sumMillimetres
        self.baselineSumMillimetres = baselineSumMillimetres
        self.nadirSumMillimetres = nadirSumMillimetres
        self.newLesionTracks = newLesionTracks
    }
}

/// A tracking event at one study: `new`, `vanished`, `merge` (`other` merged into `track`) or
/// `split` (`other` split off `track`).
public struct TrackEventEntry: Codable, Sendable, Equatable {
    public let event: String
    public let track: Int
    public let other: Int?

    public init(event: String, track: Int, other: Int?) {
        self.event = event
        self.track = track
        self.other = other
    }
}

/// One study in a HISTORY_REPLY, oldest first.
public struct StudyHistoryEntry: Codable, Sendable, Equatable {
    public let study: Int64
    /// ISO date, if known.
    public let studyDate: String?
    /// "CT" or "MR"; nil from a coordinator older than this field.
    public let modality: String?
    /// The phases the study was stored with, in NC, AP, PV, DP order; nil from a coordinator
    /// older than this field.
    public let phases: [String]?
    /// State of the study's analyze job.
    public let analysis: String
    public let lesions: [LesionHistoryEntry]
    public let responses: [ResponseHistoryEntry]
    public let events: [TrackEventEntry]

    public init(study: Int64, studyDate: String?, modality: String? = nil, phases: [String]? = nil, analysis: String,
                lesions: [LesionHistoryEntry], responses: [ResponseHistoryEntry], events: [TrackEventEntry]) {
        self.study = study
        self.studyDate = studyDate
        self.modality = modality
        self.phases = phases
        self.analysis = analysis
        self.lesions = lesions
        self.responses = responses
        self.events = events
    }
}

/// Coordinator -> client: the patient's studies and their lesions.
public struct HistoryReply: Codable, Sendable, Equatable {
    public let request: String
    public let studies: [StudyHistoryEntry]
    /// State of the patient's latest `track` job ("none" before the first analysis ends): tracks,
    /// events and responses are current once it has succeeded.
    public let tracking: String

    public init(request: String, studies: [StudyHistoryEntry], tracking: String) {
        self.request = request
        self.studies = studies
        self.tracking = tracking
    }
}

/// Client -> coordinator: the files of a study's analysis. Audited like a history read.
public struct ExportRequest: Codable, Sendable, Equatable {
    public let request: String
    public let study: Int64
    /// The user who requests the export, for the audit log.
    public let user: String

    public init(request: String, study: Int64, user: String) {
        self.request = request
        self.study = study
        self.user = user
    }
}

/// Coordinator -> client: the analysis' label map (attachment `labels`, one byte per voxel of
/// `labelGrid`, i fastest) and its key images (attachments `key-image-N.png`).
public struct ExportReply: Codable, Sendable, Equatable {
    public let request: String
    public let study: Int64
    public let labelGrid: LabelGrid

    public init(request: String, study: Int64, labelGrid: LabelGrid) {
        self.request = request
        self.study = study
        self.labelGrid = labelGrid
    }
}

/// The grid of an analysis' label map, in patient space (LPS).
public struct LabelGrid: Codable, Sendable, Equatable {
    public let size: [Int]
    public let spacing: [Double]
    public let origin: [Double]
    /// Row-major direction cosines: column c is grid axis c.
    public let direction: [Double]

    public init(size: [Int], spacing: [Double], origin: [Double], direction: [Double]) {
        self.size = size
        self.spacing = spacing
        self.origin = origin
        self.direction = direction
    }
}

/// Coordinator -> client: the IDs of the enqueued jobs.
public struct Submitted: Codable, Sendable, Equatable {
    public let request: String
    public let jobs: [Int64]

    public init(request: String, jobs: [Int64]) {
        self.request = request
        self.jobs = jobs
    }
}

/// Client -> coordinator: the state of some jobs, or of the whole queue when `jobs` is empty.
public struct StatusRequest: Codable, Sendable, Equatable {
    public let request: String
    public let jobs: [Int64]
    /// Studies whose analysis and tracking to report; nil from clients that ask for jobs only.
    public let studies: [Int64]?

    /// The maximum numbers of jobs and studies one request may name. The coordinator rejects a
    /// request with more, because it reads each one from the database while other clients wait.
    public static let maximumJobs = 10_000
    public static let maximumStudies = 1_000

    public init(request: String, jobs: [Int64] = [], studies: [Int64]? = nil) {
        self.request = request
        self.jobs = jobs
        self.studies = studies
    }
}

/// One study in a STATUS reply: where its analysis and its patient's tracking stand.
public struct StudyStatus: Codable, Sendable, Equatable {
    public let study: Int64
    public let analyzeJob: Int64?
    /// State of the analyze job ("none" if there is none).
    public let analysis: String
    public let lesions: Int
    /// State of the patient's latest `track` job ("none" before the first).
    public let tracking: String
    /// True while a `track` job of the patient waits or runs: tracks and responses are not final.
    public let trackingPending: Bool

    public init(study: Int64, analyzeJob: Int64?, analysis: String, lesions: Int, tracking: String, trackingPending: Bool) {
        self.study = study
        self.analyzeJob = analyzeJob
        self.analysis = analysis
        self.lesions = lesions
        self.tracking = tracking
        self.trackingPending = trackingPending
    }
}

/// One job in a STATUS reply.
public struct JobStatus: Codable, Sendable, Equatable {
    public let id: Int64
    public let kind: String
    public let state: String
    public let attempt: Int
    public let errors: [String]

    public init(id: Int64, kind: String, state: String, attempt: Int, errors: [String]) {
        self.id = id
        self.kind = kind
        self.state = state
        self.attempt = attempt
        self.errors = errors
    }
}

/// Coordinator -> client: job counts per state, and the requested jobs.
public struct StatusReply: Codable, Sendable, Equatable {
    public let request: String
    public let counts: [String: Int]
    public let jobs: [JobStatus]
    /// The requested studies that exist.
    public let studies: [StudyStatus]?
    /// Connected workers per job kind they run, at this coordinator.
    public let workersByKind: [String: Int]?
    /// The coordinator process's session ID, new at every start, so that a client can tell that
    /// it restarted; nil from older coordinators.
    public let session: String?

    public init(request: String, counts: [String: Int], jobs: [JobStatus], studies: [StudyStatus]? = nil,
                workersByKind: [String: Int]? = nil, session: String? = nil) {
        self.request = request
        self.counts = counts
        self.jobs = jobs
        self.studies = studies
        self.workersByKind = workersByKind
        self.session = session
    }
}

/// Client -> coordinator: cancel a queued or running job.
public struct CancelRequest: Codable, Sendable, Equatable {
    public let request: String
    public let job: Int64

    public init(request: String, job: Int64) {
        self.request = request
        self.job = job
    }
}

/// Coordinator -> client: whether the job was cancelled (false when it had already ended).
public struct CancelReply: Codable, Sendable, Equatable {
    public let request: String
    public let job: Int64
    public let cancelled: Bool

    public init(request: String, job: Int64, cancelled: Bool) {
        self.request = request
        self.job = job
        self.cancelled = cancelled
    }
}

/// Client -> coordinator: queue a dead or cancelled job again.
public struct RetryRequest: Codable, Sendable, Equatable {
    public let request: String
    public let job: Int64

    public init(request: String, job: Int64) {
        self.request = request
        self.job = job
    }
}

/// Coordinator -> client: whether the job was queued again (false when it was not dead or
/// cancelled).
public struct RetryReply: Codable, Sendable, Equatable {
    public let request: String
    public let job: Int64
    public let retried: Bool

    public init(request: String, job: Int64, retried: Bool) {
        self.request = request
        self.job = job
        self.retried = retried
    }
}

/// Coordinator -> client: a request could not be handled.
public struct ErrorReply: Codable, Sendable, Equatable {
    /// The ID of the failed request, when the request could be read that far.
    public let request: String?
    public let message: String

    public init(request: String?, message: String) {
        self.request = request
        self.message = message
    }
}

/// Returns a random identifier for one run of a process.
public func makeSessionID() -> String {
    String(UInt64.random(in: 0...UInt64.max), radix: 36)
}
