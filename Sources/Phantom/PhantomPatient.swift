// A synthetic patient followed over several studies: anatomy, lesions and how they evolve.
import Foundation
import Imaging

/// One synthetic patient. Everything follows from the seed.
public struct PhantomPatient: Sendable {
    public let seed: UInt64
    public let number: Int
    public let options: PhantomOptions
    let anatomy: Anatomy
    let attenuation: AttenuationTable
    /// Lesions at the first timepoint; later timepoints evolve them (see ``lesions(at:)``).
    let initialLesions: [LesionShape]
    let growth: [Int: LesionCourse]

    /// Draws patient `number` of the set made with `seed`.
    public init(seed: UInt64, number: Int, options: PhantomOptions) {
        self.seed = seed
        self.number = number
        self.options = options
        let root = RandomSource(seed: seed).derived(UInt64(number))
        var anatomyRandom = root.derived(1)
        anatomy = Anatomy(random: &anatomyRandom)
        var attenuationRandom = root.derived(2)
        attenuation = AttenuationTable(random: &attenuationRandom)

        var lesionRandom = root.derived(3)
        let count = Int.random(in: options.lesionCount, using: &lesionRandom)
        var lesions: [LesionShape] = []
        var courses: [Int: LesionCourse] = [:]
        for id in 1..<(count + 1) {
            let lesionClass = LesionClass.allCases[(id + number) % LesionClass.allCases.count]
            guard let lesion = placeLesion(id: id, lesionClass: lesionClass, radius: exp(lesionRandom.uniform(log(2.5)...log(30))),
                                           anatomy: anatomy, avoiding: lesions, random: &lesionRandom) else { continue }
            lesions.append(lesion)
            courses[id] = LesionCourse.draw(for: lesionClass, random: &lesionRandom)
        }
        initialLesions = lesions
        growth = courses
    }

    /// Returns the patient's lesions at `timepoint` (0 is the first study), with tracks kept by ID.
    func lesions(at timepoint: Int) -> [LesionShape] {
        let months = Double(timepoint) * options.monthsBetweenStudies
        var result: [LesionShape] = []
        for lesion in initialLesions {
            guard let course = growth[lesion.id] else { continue }
            var evolved = lesion
            evolved.radius = min(course.radius(initial: lesion.radius, months: months), 32)
            evolved.viableFraction = course.viableFraction(months: months, timepoint: timepoint)
            if evolved.radius >= 2 { result.append(evolved) }
        }
        // New lesions: each later timepoint may bring one, placed from its own random source.
        for later in stride(from: 1, through: timepoint, by: 1) {
            var random = RandomSource(seed: seed).derived(UInt64(number)).derived(100 + UInt64(later))
            guard random.uniform(0...1) < 0.6 else { continue }
            let lesionClass: LesionClass = random.uniform(0...1) < 0.6 ? .hcc : .metastasis
            let id = 100 + later
            guard var lesion = placeLesion(id: id, lesionClass: lesionClass, radius: random.uniform(2.5...7),
                                           anatomy: anatomy, avoiding: result, random: &random) else { continue }
            // A new lesion keeps growing at later timepoints, doubling its volume every 4 months.
            lesion.radius *= pow(2, Double(timepoint - later) * options.monthsBetweenStudies / 12)
            result.append(lesion)
        }
        return result
    }

    /// Returns how the patient lies in the scanner at `timepoint`: a rigid move of the anatomy.
    func pose(at timepoint: Int) -> (rotation: Matrix3, translation: Vector3) {
        guard timepoint > 0 else { return (.identity, .zero) }
        var random = RandomSource(seed: seed).derived(UInt64(number)).derived(200 + UInt64(timepoint))
        return (rotation(aboutZ: random.uniform(-4...4)),
                Vector3(random.uniform(-12...12), random.uniform(-8...8), random.uniform(-15...15)))
    }

    /// Breathing shifts of each phase against the portal venous phase at `timepoint`, in mm.
    func phaseShifts(at timepoint: Int) -> [Phase: Vector3] {
        var random = RandomSource(seed: seed).derived(UInt64(number)).derived(300 + UInt64(timepoint))
        let limit = options.motionMillimetres
        var shifts: [Phase: Vector3] = [.portalVenous: .zero]
        for phase in [Phase.nonContrast, .arterial, .delayed] {
            shifts[phase] = limit > 0
                ? Vector3(random.uniform(-limit / 5...limit / 5), random.uniform(-limit / 5...limit / 5), random.uniform(-limit...limit))
                : .zero
        }
        return shifts
    }
}

/// The fate of one lesion over time.
struct LesionCourse: Sendable {
    /// Volume doubling time in months; infinite for lesions that do not grow.
    let doublingMonths: Double
    /// Months after the first study when treatment starts, or nil when untreated.
    let treatedAfterMonths: Double?

    static func draw(for lesionClass: LesionClass, random: inout RandomSource) -> LesionCourse {
        switch lesionClass {
        case .hcc:
            let treated = random.uniform(0...1) < 0.35
            return LesionCourse(doublingMonths: random.uniform(3...6), treatedAfterMonths: treated ? 0.5 : nil)
        case .metastasis:
            let treated = random.uniform(0...1) < 0.3
            return LesionCourse(doublingMonths: random.uniform(2...4), treatedAfterMonths: treated ? 0.5 : nil)
        case .haemangioma, .cyst, .fnh:
            return LesionCourse(doublingMonths: .infinity, treatedAfterMonths: nil)
        }
    }

    func radius(initial: Double, months: Double) -> Double {
        if let start = treatedAfterMonths, months > start {
            // Treated lesions shrink by about a fifth of their diameter every 3 months.
            return initial * pow(0.8, (months - start) / 3)
        }
        guard doublingMonths.isFinite else { return initial }
        return initial * pow(2, months / (3 * doublingMonths))
    }

    func viableFraction(months: Double, timepoint: Int) -> Double {
        guard let start = treatedAfterMonths, months > start else { return 1 }
        return timepoint == 1 ? 0.35 : 0
    }
}

/// Places a lesion inside the liver, clear of the liver's edge and of other lesions.
func placeLesion(id: Int, lesionClass: LesionClass, radius: Double, anatomy: Anatomy, avoiding others: [LesionShape],
                 random: inout RandomSource) -> LesionShape? {
    let aspect = Vector3(random.uniform(0.8...1.2), random.uniform(0.8...1.2), random.uniform(0.8...1.2))
    let irregularity = lesionClass == .cyst ? 0.02 : random.uniform(0.05...0.15)
    let extent = radius * max(aspect.x, aspect.y, aspect.z) * (1 + irregularity) + 3
    for _ in 0..<200 {
        let lobe = anatomy.liverLobes[Int.random(in: 0..<anatomy.liverLobes.count, using: &random)]
        let centre = lobe.centre + Vector3(random.uniform(-0.8...0.8) * lobe.radii.x, random.uniform(-0.8...0.8) * lobe.radii.y,
                                           random.uniform(-0.8...0.8) * lobe.radii.z)
        let probes = [Vector3(1, 0, 0), Vector3(-1, 0, 0), Vector3(0, 1, 0), Vector3(0, -1, 0), Vector3(0, 0, 1), Vector3(0, 0, -1),
                      Vector3(0.577, 0.577, 0.577), Vector3(-0.577, -0.577, -0.577), Vector3(0.577, -0.577, 0.577), Vector3(-0.577, 0.577, -0.577)]
        guard probes.allSatisfy({ anatomy.isLiver(centre + $0 * extent) }) else { continue }
        guard others.allSatisfy({ length($0.centre - centre) > $0.boundingRadius + extent + 4 }) else { continue }
        return LesionShape(id: id, lesionClass: lesionClass, centre: centre, radius: radius, aspect: aspect,
                           orientation: rotation(aboutZ: random.uniform(0...180), aboutX: random.uniform(-30...30)),
                           irregularity: irregularity,
                           ripplePhase: Vector3(random.uniform(0...6.28), random.uniform(0...6.28), random.uniform(0...6.28)),
                           enhancement: LesionEnhancement.draw(lesionClass, random: &random),
                           hasCapsule: lesionClass == .hcc && random.uniform(0...1) < 0.7)
    }
    return nil
}
