// Focal liver lesions of five classes, each with its own enhancement over the phases.
import Foundation
import Imaging

/// The lesion classes the phantom draws and the network learns to tell apart.
public enum LesionClass: String, CaseIterable, Codable, Sendable {
    case hcc = "HCC"
    case metastasis
    case haemangioma
    case cyst
    case fnh = "FNH"
}

/// A lesion's shape and enhancement at one timepoint, in the anatomy's own frame (mm).
struct LesionShape: Sendable {
    let id: Int
    let lesionClass: LesionClass
    var centre: Vector3
    /// Mean radius of the irregular surface, in mm.
    var radius: Double
    /// Radii relative to `radius` along three axes, so lesions are ellipsoidal.
    let aspect: Vector3
    let orientation: Matrix3
    /// Margin irregularity: amplitude of the low-order surface ripple, relative to the radius.
    let irregularity: Double
    let ripplePhase: Vector3
    /// Enhancement values (HU) per region and phase, drawn for this lesion.
    var enhancement: LesionEnhancement
    let hasCapsule: Bool
    /// Fraction of the lesion that still enhances after treatment (1 before any).
    var viableFraction: Double = 1

    /// The normalised radial position of a point: 0 at the centre, 1 on the (irregular) surface.
    func radialPosition(_ point: Vector3) -> Double {
        let offset = orientation.transposed * (point - centre)
        let scaled = Vector3(offset.x / aspect.x, offset.y / aspect.y, offset.z / aspect.z)
        let distance = length(scaled)
        guard distance > 0 else { return 0 }
        let direction = scaled / distance
        let ripple = 1 + irregularity * sin(3 * direction.x + ripplePhase.x) * cos(2 * direction.y + ripplePhase.y)
            * cos(2 * direction.z + ripplePhase.z)
        return distance / (radius * ripple)
    }

    /// Radius of a sphere holding the whole lesion.
    var boundingRadius: Double { radius * max(aspect.x, aspect.y, aspect.z) * (1 + irregularity) }

    /// HU of the point (inside the lesion) in `phase`; `heterogeneity` adds a smooth texture.
    func attenuation(at point: Vector3, position: Double, phase: Phase) -> Double {
        let rimWidth = min(0.3, 2.0 / radius)
        let local = orientation.transposed * (point - centre)
        let texture = enhancement.heterogeneity * sin(local.x * 0.45 + ripplePhase.x) * sin(local.y * 0.4 + ripplePhase.y) * sin(local.z * 0.5 + ripplePhase.z)

        switch lesionClass {
        case .hcc:
            if hasCapsule && position > 1 - rimWidth && (phase == .portalVenous || phase == .delayed) {
                return enhancement.rim[phase]!
            }
            return viable(enhancement.core[phase]!, phase: phase) + texture
        case .metastasis:
            let rim = position > 1 - max(rimWidth, 0.25)
            return viable(rim ? enhancement.rim[phase]! : enhancement.core[phase]!, phase: phase) + texture * 0.5
        case .haemangioma:
            // Peripheral nodules in the arterial phase, filling in towards the centre later.
            let local = normalisedDirection(point)
            let nodular = sin(5 * local.x + ripplePhase.x) * sin(5 * local.y + ripplePhase.y) > 0.3
            switch phase {
            case .nonContrast: return enhancement.core[.nonContrast]! + texture * 0.3
            case .arterial: return position > 0.75 && nodular ? enhancement.rim[.arterial]! : enhancement.core[.arterial]!
            case .portalVenous: return position > 0.4 ? enhancement.rim[.portalVenous]! : enhancement.core[.portalVenous]!
            case .delayed: return enhancement.rim[.delayed]!
            }
        case .cyst:
            return enhancement.core[phase]!
        case .fnh:
            let scar = position < 0.22
            return scar ? enhancement.rim[phase]! : enhancement.core[phase]! + texture * 0.3
        }
    }

    private func normalisedDirection(_ point: Vector3) -> Vector3 {
        let offset = orientation.transposed * (point - centre)
        let distance = length(offset)
        return distance > 0 ? offset / distance : Vector3(1, 0, 0)
    }

    /// After treatment, the non-viable part loses its enhancement: it takes the
    /// non-contrast value (necrosis) in every phase.
    private func viable(_ value: Double, phase: Phase) -> Double {
        guard viableFraction < 1 else { return value }
        let necrotic = min(enhancement.core[.nonContrast]!, 30)
        return necrotic + (value - necrotic) * viableFraction
    }
}

/// HU per phase of a lesion's core and of its second region: the rim or capsule (HCC,
/// metastasis), the enhancing blood pool (haemangioma) or the central scar (FNH).
struct LesionEnhancement: Sendable {
    var core: [Phase: Double]
    var rim: [Phase: Double]
    /// Amplitude of the internal texture, in HU.
    var heterogeneity: Double

    static func draw(_ lesionClass: LesionClass, random: inout RandomSource) -> LesionEnhancement {
        func phases(_ nc: Double, _ ap: Double, _ pv: Double, _ dp: Double) -> [Phase: Double] {
            let jitter = { (value: Double, random: inout RandomSource) in value + random.normal(deviation: 4) }
            return [.nonContrast: jitter(nc, &random), .arterial: jitter(ap, &random),
                    .portalVenous: jitter(pv, &random), .delayed: jitter(dp, &random)]
        }
        switch lesionClass {
        case .hcc:
            return LesionEnhancement(core: phases(40, 110, 90, 80), rim: phases(40, 110, 130, 130), heterogeneity: 8)
        case .metastasis:
            return LesionEnhancement(core: phases(35, 55, 70, 75), rim: phases(35, 90, 100, 75), heterogeneity: 6)
        case .haemangioma:
            return LesionEnhancement(core: phases(40, 40, 60, 130), rim: phases(40, 250, 150, 130), heterogeneity: 3)
        case .cyst:
            return LesionEnhancement(core: phases(5, 5, 5, 5), rim: phases(5, 5, 5, 5), heterogeneity: 0)
        case .fnh:
            return LesionEnhancement(core: phases(50, 120, 115, 95), rim: phases(40, 40, 70, 90), heterogeneity: 3)
        }
    }
}
