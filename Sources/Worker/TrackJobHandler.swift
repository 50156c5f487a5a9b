// The `track` job: links a patient's lesions across all analysed studies and assesses response.
// It needs no model, so every worker runs it.
import Foundation
import Imaging
import Lesions

/// Runs lesion tracking on the studies the coordinator sends with the job.
public struct TrackJobHandler: JobHandler {
    public let kinds = ["track"]

    public init() {}

    struct Payload: Decodable {
        struct Study: Decodable {
            let study: Int64
            let date: String?
            let liverSurface: [Double]
            let lesions: [Lesion]
        }
        struct Lesion: Decodable {
            let id: Int64
            let centroid: [Double]
            let maximumDiameterMillimetres: Double
            let longestAxialDiameterMillimetres: Double
            let viableAxialDiameterMillimetres: Double?
            let features: EnhancementFeatures
            /// The lesion's stored track number; absent before its first tracking.
            let track: Int?
        }
        let patient: Int64
        let studies: [Study]
    }

    public func run(_ context: JobContext) throws -> JobOutput {
        let payload: Payload
        do {
            payload = try JSONDecoder().decode(Payload.self, from: Data(context.order.payload.utf8))
        } catch {
            throw JobError("track job \(context.order.job) has an invalid payload: \(error)", retryable: false)
        }
        let dateFormat = Date.ISO8601FormatStyle().year().month().day()
        var studies: [AnalysedStudy] = []
        for study in payload.studies {
            guard study.liverSurface.count % 3 == 0, study.lesions.allSatisfy({ $0.centroid.count == 3 }) else {
                throw JobError("track job \(context.order.job): study \(study.study) has malformed points", retryable: false)
            }
            let surface = stride(from: 0, to: study.liverSurface.count, by: 3).map {
                Vector3(study.liverSurface[$0], study.liverSurface[$0 + 1], study.liverSurface[$0 + 2])
            }
            studies.append(AnalysedStudy(
                study: study.study, date: study.date.flatMap { try? dateFormat.parse($0) }, liverSurface: surface,
                lesions: study.lesions.map {
                    AnalysedLesion(id: $0.id, centroid: Vector3($0.centroid[0], $0.centroid[1], $0.centroid[2]),
                                   maximumDiameterMillimetres: $0.maximumDiameterMillimetres,
                                   longestAxialDiameterMillimetres: $0.longestAxialDiameterMillimetres,
                                   viableAxialDiameterMillimetres: $0.viableAxialDiameterMillimetres, features: $0.features,
                                   storedTrack: $0.track)
                }))
        }
        let tracking = trackPatient(studies)
        context.reportProgress(1, "tracked")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return JobOutput(result: String(decoding: try encoder.encode(tracking), as: UTF8.self))
    }
}
