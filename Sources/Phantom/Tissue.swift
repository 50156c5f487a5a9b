// Tissues of the phantom and their attenuation in each contrast phase.
import Imaging

/// A tissue class of the phantom's anatomy.
public enum Tissue: UInt8, CaseIterable, Sendable, Codable {
    case air, fat, muscle, trabecularBone, corticalBone, aorta, inferiorVenaCava, portalVein, hepaticVein
    case liver, spleen, kidneyCortex, stomachWall, bowelGas, water

    /// Typical HU in the non-contrast, arterial, portal venous and delayed phases.
    var typicalHounsfieldUnits: [Phase: Double] {
        func phases(_ nc: Double, _ ap: Double, _ pv: Double, _ dp: Double) -> [Phase: Double] {
            [.nonContrast: nc, .arterial: ap, .portalVenous: pv, .delayed: dp]
        }
        switch self {
        case .air, .bowelGas: return phases(-900, -900, -900, -900)
        case .fat: return phases(-100, -100, -100, -100)
        case .muscle: return phases(50, 60, 65, 60)
        case .trabecularBone: return phases(200, 200, 200, 200)
        case .corticalBone: return phases(800, 800, 800, 800)
        case .aorta: return phases(40, 300, 170, 120)
        case .inferiorVenaCava, .hepaticVein: return phases(40, 60, 160, 125)
        case .portalVein: return phases(40, 130, 190, 130)
        case .liver: return phases(55, 75, 115, 95)
        case .spleen: return phases(50, 110, 120, 100)
        case .kidneyCortex: return phases(35, 180, 170, 140)
        case .stomachWall: return phases(40, 70, 90, 80)
        case .water: return phases(5, 5, 5, 5)
        }
    }
}

/// One patient's attenuation table: the typical values with the patient's own contrast timing
/// and dose, so two patients never share exact numbers.
struct AttenuationTable: Sendable {
    private var values: [Tissue: [Phase: Double]] = [:]

    /// HU of every tissue in one phase, indexed by `Tissue.rawValue`, for the per-voxel loop.
    func lookup(_ phase: Phase) -> [Double] {
        Tissue.allCases.map { values[$0]![phase]! }
    }

    init(random: inout RandomSource) {
        // One factor per phase scales every tissue's enhancement over its non-contrast value.
        var enhancement: [Phase: Double] = [.nonContrast: 1]
        for phase in [Phase.arterial, .portalVenous, .delayed] {
            enhancement[phase] = 1 + random.normal(deviation: 0.08)
        }
        for tissue in Tissue.allCases {
            let typical = tissue.typicalHounsfieldUnits
            let baseline = typical[.nonContrast]! + (tissue == .air || tissue == .bowelGas ? 0 : random.normal(deviation: 3))
            var perPhase: [Phase: Double] = [:]
            for phase in Phase.allCases {
                perPhase[phase] = baseline + (typical[phase]! - typical[.nonContrast]!) * enhancement[phase]!
            }
            values[tissue] = perPhase
        }
    }

    subscript(tissue: Tissue, phase: Phase) -> Double { values[tissue]![phase]! }
}
