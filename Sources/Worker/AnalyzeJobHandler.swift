// The `analyze` job: the worker pipeline from phase volumes to a lesion list, each stage timed.
//
// 1. decode the volumes sent with the job
// 2. bring every phase onto the portal venous grid (or the first phase's) at the model's spacing
// 3. normalise intensities (CT: clipped HU window)
// 4. STD-Net by sliding window
// 5. lesions: components, the characterisation head on each, measurements, enhancement
//    features, LI-RADS category
// 6. a key image per lesion, and the label map, returned as attachments
import Foundation
import Imaging
import Lesions
import Reports
import STDNet
import Wire

/// Runs the analysis of one study with a loaded model.
public struct AnalyzeJobHandler: JobHandler {
    public let kinds = ["analyze"]
    public let model: STDNetModel
    public let window: [Int]
    /// Less segmented liver than this (on CT, of liver attenuation) fails the analysis, because
    /// the series then miss the liver or are not what the model reads. A whole adult liver is
    /// about 1,000-2,000 mL, so this bar also passes a study that covers only part of it.
    static let minimumLiverMillilitres = 100.0
    /// The CT attenuation, in HU, of voxels that count as liver for that bar. Liver parenchyma
    /// and its lesions lie above most fat (about -100 HU) and below bone and undiluted contrast.
    static let liverAttenuation: ClosedRange<Float> = -100...400

    /// Slides the model's ``ModelConfiguration/slidingWindow`` over each study.
    public init(model: STDNetModel) {
        self.model = model
        window = model.configuration.slidingWindow
    }

    struct Payload: Decodable {
        struct Series: Decodable {
            let phase: String
            let size: [Int]
            let spacing: [Double]
            let origin: [Double]
            let direction: [Double]
        }
        let study: Int64
        let modality: String
        let series: [Series]
    }

    public func run(_ context: JobContext) throws -> JobOutput {
        var timings: [String: Double] = [:]
        let clock = ContinuousClock()
        var stageStart = clock.now
        func finishStage(_ name: String) {
            let elapsed = clock.now - stageStart
            timings[name] = elapsed / .milliseconds(1)
            stageStart = clock.now
        }

        let payload: Payload
        do {
            payload = try JSONDecoder().decode(Payload.self, from: Data(context.order.payload.utf8))
        } catch {
            throw JobError("analyze job \(context.order.job) has an invalid payload: \(error)", retryable: false)
        }
        var volumes: [Phase: Volume<Float>] = [:]
        for series in payload.series {
            guard let phase = Phase(code: series.phase),
                  let geometry = Geometry(size: series.size, spacing: series.spacing, origin: series.origin, rowMajorDirection: series.direction),
                  let attachment = context.attachments.first(where: { $0.name == series.phase }),
                  attachment.data.count == series.size.reduce(1, *) * 4 else {
                throw JobError("analyze job \(context.order.job): series \(series.phase) has an invalid grid or volume", retryable: false)
            }
            let voxels = attachment.data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            volumes[phase] = Volume(geometry: geometry, voxels: voxels)
        }
        // The reference phase sets the grid and the attenuation that the liver check reads.
        guard let referencePhase = Phase.reference(among: Set(volumes.keys)), let reference = volumes[referencePhase] else {
            throw JobError("analyze job \(context.order.job) carries no volume", retryable: false)
        }
        finishStage("decode_ms")
        context.reportProgress(0.1, "decoded")

        // The model's grid: the reference grid's extent at the model's spacing.
        let spacing = Vector3(model.configuration.spacing[0], model.configuration.spacing[1], model.configuration.spacing[2])
        let extent = Vector3(Double(reference.size.x), Double(reference.size.y), Double(reference.size.z)) * reference.spacing
        let size = VolumeSize(max(1, Int((extent.x / spacing.x).rounded(.up))), max(1, Int((extent.y / spacing.y).rounded(.up))),
                              max(1, Int((extent.z / spacing.z).rounded(.up))))
        let grid = Geometry(size: size, spacing: spacing, origin: reference.origin, direction: reference.direction)
        var resampled: [Phase: Volume<Float>] = [:]
        for (phase, volume) in volumes {
            resampled[phase] = Resampler.resample(volume, onto: grid, outsideValue: -1000)
        }
        finishStage("resample_ms")

        let isCT = payload.modality == "CT"
        // NOTE: MRI inputs are normalised with the CT window too; per-phase percentiles are not implemented yet.
        let phases = Phase.allCases.map { phase in resampled[phase].map { $0.voxels.map(normaliseHounsfieldUnits) } }
        finishStage("normalise_ms")

        // On CT, air on the label grid (the reference phase's) is background whatever the model outputs.
        let air = isCT ? resampled[referencePhase]!.voxels.map { isAir(hounsfieldUnits: $0) } : nil
        let segmentation = try model.segment(phases, extent: [size.z, size.y, size.x], options: SlidingWindowOptions(window: window, overlap: 0.25),
                                             knownBackground: air) {
            // Runs before every window, the first included, so an abandoned attempt stops here.
            guard !context.isAbandoned() else { throw JobError("abandoned", retryable: true) }
        }
        finishStage("network_ms")
        context.reportProgress(0.8, "segmented")

        // Liver and lesion voxels together. On CT only those of soft-tissue attenuation count:
        // the model, trained on phantoms, labels some liver even in air.
        let liverVoxels = segmentation.labels.filter { $0 != 0 }.count
        let plausibleLiverVoxels = isCT
            ? zip(segmentation.labels, resampled[referencePhase]!.voxels).filter { $0.0 != 0 && Self.liverAttenuation.contains($0.1) }.count
            : liverVoxels
        let liverMillilitres = Double(plausibleLiverVoxels) * spacing.x * spacing.y * spacing.z / 1000
        guard liverMillilitres >= Self.minimumLiverMillilitres else {
            // The phantom-trained model also fails this way on some studies that lack a phase.
            let present = Phase.allCases.filter { volumes[$0] != nil }
            let cause = present.count < Phase.allCases.count
                ? "it was trained on phantoms and misses the liver more often when a phase is missing"
                : "it was trained on phantoms"
            throw JobError(String(format: "analyze job %lld: the model found %.1f mL of liver, less than the %.0f mL a liver study shows, in phases %@; check that the series cover the liver. If they do, the model failed on this study: %@",
                                  context.order.job, liverMillilitres, Self.minimumLiverMillilitres,
                                  present.map(\.rawValue).joined(separator: ", "), cause), retryable: false)
        }
        let labels = Volume<UInt8>(geometry: grid, voxels: segmentation.labels)
        // Components come largest first; reports and key images are numbered in that order.
        let components = connectedLesions(in: labels, minimumVolumeMillilitres: LesionComponent.minimumReportedMillilitres)
        let probabilities = model.characteriseLesions(phases: phases, extent: [size.z, size.y, size.x], window: window,
                                                      lesions: components.map(\.voxels))
        var classProbabilities: [Int: [String: Double]] = [:]
        for (index, values) in probabilities.enumerated() {
            guard let values else { continue }
            classProbabilities[index] = Dictionary(uniqueKeysWithValues: zip(model.configuration.lesionClasses, values))
        }
        finishStage("characterisation_ms")
        let reports = analyzeLesions(components, labels: labels, phases: resampled, isCT: isCT, classProbabilities: classProbabilities)
        finishStage("lesions_ms")

        // One key image per lesion, numbered as the lesions are (largest first, from 1).
        var attachments = [Attachment(name: AnalyzeResult.labelsAttachment, data: Data(segmentation.labels))]
        for (index, component) in components.enumerated() {
            let image = try keyImage(labels: labels, phases: resampled, lesion: component, isCT: isCT)
            attachments.append(Attachment(name: "key-image-\(index + 1).png", data: Data(try image.image.encoded())))
        }
        finishStage("key_images_ms")

        // A tenth of a millimetre is far below the grid's resolution and keeps the JSON short.
        let surface = liverSurfacePoints(labels).flatMap { point in
            [point.x, point.y, point.z].map { ($0 * 10).rounded() / 10 }
        }
        let result = AnalyzeResult(study: payload.study, modelArchitecture: model.configuration.architecture.rawValue,
                                   labelGrid: LabelGrid(grid), liverVoxels: liverVoxels,
                                   liverSurface: surface, lesions: reports, timingsMilliseconds: timings,
                                   networkTimingsMilliseconds: [
                                       "spatial_encoding_ms": segmentation.timings.spatialEncodingMilliseconds,
                                       "temporal_modelling_ms": segmentation.timings.temporalModellingMilliseconds,
                                       "decoding_ms": segmentation.timings.decodingMilliseconds,
                                   ])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // An empty region (a lesion too small for a core) has no mean.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return JobOutput(result: String(decoding: try encoder.encode(result), as: UTF8.self), attachments: attachments)
    }
}

/// The result of one analysis, stored as the job's result. The label map (one byte per voxel of
/// `labelGrid`, i fastest: 0 background, 1 liver, 2 lesion) travels as an attachment.
struct AnalyzeResult: Encodable {
    static let labelsAttachment = "labels"

    let study: Int64
    let modelArchitecture: String
    let labelGrid: LabelGrid
    let liverVoxels: Int
    /// Up to 2,000 liver surface points, x y z after each other in LPS mm, for tracking.
    let liverSurface: [Double]
    let lesions: [LesionReport]
    let timingsMilliseconds: [String: Double]
    let networkTimingsMilliseconds: [String: Double]
}

extension LabelGrid {
    init(_ geometry: Geometry) {
        self.init(size: [geometry.size.x, geometry.size.y, geometry.size.z],
                  spacing: [geometry.spacing.x, geometry.spacing.y, geometry.spacing.z],
                  origin: [geometry.origin.x, geometry.origin.y, geometry.origin.z],
                  direction: geometry.rowMajorDirection)
    }
}
