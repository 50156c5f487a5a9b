// Everything reported about one lesion of one study, put together from the measurements.
import Foundation
import Imaging

/// One lesion's report: size, enhancement features, LI-RADS category, and the model's class
/// probabilities kept beside the table-based category, never mixed into it.
public struct LesionReport: Codable, Sendable, Equatable {
    public let measurements: LesionMeasurements
    /// Longest axial diameter of the arterially enhancing part (mRECIST's viable tumour) in mm;
    /// nil without an arterial phase.
    public let viableAxialDiameterMillimetres: Double?
    public let statistics: [String: LesionRegionStatistics]
    public let features: EnhancementFeatures
    /// The category without threshold growth, which tracking adds.
    public let category: LIRADSCategory
    /// Class name to probability from the network's characterisation head, when it ran.
    public let classProbabilities: [String: Double]?
}

/// Analyses the lesions of a study: their size, their enhancement against the surrounding liver,
/// and the LI-RADS category. Threshold growth needs the lesion's history, so the category here
/// leaves it out; tracking adds it (see ``trackPatient(_:gateMillimetres:)``).
///
/// - parameters:
///   - components: the lesions, from ``connectedLesions(in:label:minimumVolumeMillilitres:)``.
///   - labels: 0 background, 1 liver, 2 lesion, on the grid of `phases`.
///   - phases: the study's images resampled onto that grid; missing phases are left out.
///   - isCT: HU thresholds for CT, relative ones for MRI.
///   - classProbabilities: the characterisation head's output per component index, if any.
public func analyzeLesions(_ components: [LesionComponent], labels: Volume<UInt8>, phases: [Phase: Volume<Float>], isCT: Bool,
                           classProbabilities: [Int: [String: Double]] = [:]) -> [LesionReport] {
    components.enumerated().map { index, component in
        let measurements = measure(component, on: labels.geometry)
        let statistics = regionStatistics(of: component, labels: labels, phases: phases)
        let features = enhancementFeatures(statistics, isCT: isCT)
        let category = liradsCategory(MajorFeatures(
            arterialEnhancement: features.arterialEnhancement, sizeMillimetres: measurements.longestAxialDiameterMillimetres,
            nonperipheralWashout: features.nonperipheralWashout, enhancingCapsule: features.enhancingCapsule, thresholdGrowth: false))
        let viable = phases[.arterial].flatMap { arterial in
            statistics[.arterial].map { viableAxialDiameter(of: component, arterial: arterial, liverRing: $0.liverRing, isCT: isCT) }
        }
        return LesionReport(measurements: measurements, viableAxialDiameterMillimetres: viable,
                            statistics: Dictionary(uniqueKeysWithValues: statistics.map { ($0.key.rawValue, $0.value) }),
                            features: features, category: category, classProbabilities: classProbabilities[index])
    }
}
