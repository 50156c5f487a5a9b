// The LI-RADS enhancement features of a lesion, judged against the ring of liver around it.
import Imaging

/// How much brighter or darker than liver counts as a difference.
public struct EnhancementThresholds: Sendable {
    /// Absolute margin for CT, in HU.
    public var hounsfieldUnits: Double
    /// Relative margin for MRI, as a fraction of the liver's signal.
    public var relativeToLiver: Double

    public init(hounsfieldUnits: Double = 10, relativeToLiver: Double = 0.1) {
        self.hounsfieldUnits = hounsfieldUnits
        self.relativeToLiver = relativeToLiver
    }

    func margin(liver: Double, isCT: Bool) -> Double {
        isCT ? hounsfieldUnits : abs(liver) * relativeToLiver
    }
}

/// Enhancement features of one lesion.
public struct EnhancementFeatures: Codable, Sendable, Equatable {
    public let arterialEnhancement: ArterialEnhancement
    public let nonperipheralWashout: Bool
    public let enhancingCapsule: Bool

    public init(arterialEnhancement: ArterialEnhancement, nonperipheralWashout: Bool, enhancingCapsule: Bool) {
        self.arterialEnhancement = arterialEnhancement
        self.nonperipheralWashout = nonperipheralWashout
        self.enhancingCapsule = enhancingCapsule
    }
}

/// Judges APHE, washout and capsule from the region statistics of the phases present.
///
/// - APHE: the lesion's core brighter than the liver ring in the arterial phase is nonrim APHE;
///   only the rim brighter (core not) is rim APHE.
/// - Washout: the core darker than the ring in the portal venous or delayed phase, after being
///   at least iso in the arterial phase.
/// - Capsule: the rim brighter than both the ring and the core in the portal venous or delayed phase.
/// Without an arterial phase, arterial enhancement is `notAssessed`, and washout is reported
/// absent because it needs that phase. Without a portal venous and a delayed phase, washout
/// and capsule are reported absent.
/// NOTE: a haemangioma's peripheral nodular enhancement reads as rim APHE here; telling the two
/// apart needs the nodules' shape, which these region means do not capture.
public func enhancementFeatures(_ statistics: [Phase: LesionRegionStatistics], isCT: Bool,
                                thresholds: EnhancementThresholds = EnhancementThresholds()) -> EnhancementFeatures {
    func core(_ region: LesionRegionStatistics) -> Double {
        region.core.voxelCount > 0 ? region.core.mean : region.lesion.mean
    }

    var arterial = statistics[.arterial] == nil ? ArterialEnhancement.notAssessed : .none
    var arterialAtLeastIso = false
    if let ap = statistics[.arterial] {
        let margin = thresholds.margin(liver: ap.liverRing.mean, isCT: isCT)
        if core(ap) > ap.liverRing.mean + margin {
            arterial = .nonrim
        } else if ap.rim.voxelCount > 0 && ap.rim.mean > ap.liverRing.mean + margin {
            arterial = .rim
        }
        arterialAtLeastIso = core(ap) >= ap.liverRing.mean - margin
    }

    var washout = false
    var capsule = false
    for phase in [Phase.portalVenous, .delayed] {
        guard let late = statistics[phase] else { continue }
        let margin = thresholds.margin(liver: late.liverRing.mean, isCT: isCT)
        if arterialAtLeastIso && core(late) < late.liverRing.mean - margin { washout = true }
        if late.rim.voxelCount > 0 && late.rim.mean > late.liverRing.mean + margin && late.rim.mean > core(late) + margin {
            capsule = true
        }
    }
    return EnhancementFeatures(arterialEnhancement: arterial, nonperipheralWashout: washout, enhancingCapsule: capsule)
}
