// Training windows cut from phantom studies generated on the fly: normalised phases, labels,
// sampling balanced towards lesions, and augmentation.
import Foundation
import Imaging
import NeuralEngine
import Phantom

/// The rule by which a lesion-centred window picks its centre.
public enum LesionCentring: String, Codable, Sendable, CaseIterable {
    /// Any lesion voxel alike, so a lesion is a centre in proportion to its volume.
    case voxel
    /// A lesion first, each alike whatever its size, then any voxel of it.
    case lesion
}

/// Settings of the training data.
public struct PatchOptions: Sendable {
    /// Window extent (D, H, W) in voxels.
    public var window: [Int]
    /// Spacing of the rendered studies (x, y, z) in mm.
    public var spacing: Vector3
    /// Largest breathing shift between phases in the rendered studies, in mm.
    public var motionMillimetres: Double
    /// Windows cut from each rendered study before the next one is drawn.
    public var windowsPerStudy: Int
    /// Fraction of windows centred on a lesion voxel rather than anywhere in the liver.
    public var lesionFraction: Double
    /// The rule by which lesion-centred windows pick their centre.
    public var lesionCentring: LesionCentring
    /// Chance that one phase (never the portal venous one) is dropped from a window.
    public var dropPhaseProbability: Double

    public init(window: [Int] = [32, 64, 64], spacing: Vector3 = Vector3(3, 3, 5), motionMillimetres: Double = 10,
                windowsPerStudy: Int = 8, lesionFraction: Double = 0.67, lesionCentring: LesionCentring = .voxel,
                dropPhaseProbability: Double = 0.1) {
        self.window = window
        self.spacing = spacing
        self.motionMillimetres = motionMillimetres
        self.windowsPerStudy = windowsPerStudy
        self.lesionFraction = lesionFraction
        self.lesionCentring = lesionCentring
        self.dropPhaseProbability = dropPhaseProbability
    }
}

/// One training window: phases per slot (NC, AP, PV, DP), nil where dropped, labels, and the
/// lesions inside it with their classes.
public struct TrainingWindow: Sendable {
    public let phases: [Tensor?]
    public let labels: [UInt8]
    public let lesions: [LesionTarget]

    public init(phases: [Tensor?], labels: [UInt8], lesions: [LesionTarget] = []) {
        self.phases = phases
        self.labels = labels
        self.lesions = lesions
    }
}

/// Maps CT HU to the network's input range: clipped to [-200, 300] HU, then scaled to [-1, 1].
public func normaliseHounsfieldUnits(_ value: Float) -> Float {
    (min(max(value, -200), 300) - 50) / 250
}

/// Draws training windows from an endless stream of phantom patients.
public struct PhantomPatchSampler: Sendable {
    public let options: PatchOptions
    private var random: SplitMix64
    private var seed: UInt64
    private var patientNumber = 0
    private var study: PhantomStudy?
    private var windowsLeft = 0

    /// Starts the stream; `seed` selects the phantom patients, which never repeat within a stream.
    public init(options: PatchOptions, seed: UInt64) {
        self.options = options
        self.seed = seed
        random = SplitMix64(seed: seed ^ 0x5EED)
    }

    public mutating func next() -> TrainingWindow {
        if windowsLeft == 0 || study == nil {
            patientNumber += 1
            // A grid over the abdomen at the training spacing; the phantom centres it on the body.
            let phantomOptions = PhantomOptions(spacing: options.spacing, motionMillimetres: options.motionMillimetres)
            let patient = PhantomPatient(seed: seed, number: patientNumber, options: phantomOptions)
            study = patient.renderStudy(timepoint: Int.random(in: 0...2, using: &random))
            windowsLeft = options.windowsPerStudy
        }
        windowsLeft -= 1
        return cut(study!)
    }

    private mutating func cut(_ study: PhantomStudy) -> TrainingWindow {
        let size = study.labels.size
        let extent = [size.z, size.y, size.x]
        let window = options.window
        let centre = chooseCentre(in: study)
        let position = [centre / (size.x * size.y), (centre / size.x) % size.y, centre % size.x]
        let origin = (0..<3).map { axis in min(max(position[axis] - window[axis] / 2, 0), max(extent[axis] - window[axis], 0)) }

        let flips = [false, Bool.random(using: &random), Bool.random(using: &random)]
        func sample(_ voxels: [Float], shift: Int) -> [Float] {
            var out = [Float](repeating: 0, count: window.reduce(1, *))
            for d in 0..<window[0] {
                let z = origin[0] + d + shift
                guard z >= 0, z < extent[0] else { continue }
                for h in 0..<window[1] {
                    let y = origin[1] + (flips[1] ? window[1] - 1 - h : h)
                    guard y < extent[1] else { continue }
                    for w in 0..<window[2] {
                        let x = origin[2] + (flips[2] ? window[2] - 1 - w : w)
                        guard x < extent[2] else { continue }
                        out[(d * window[1] + h) * window[2] + w] = voxels[(z * extent[1] + y) * extent[2] + x]
                    }
                }
            }
            return out
        }

        let dropped: Phase? = Double.random(in: 0..<1, using: &random) < options.dropPhaseProbability
            ? [Phase.nonContrast, .arterial, .delayed].randomElement(using: &random) : nil
        let phases: [Tensor?] = Phase.allCases.map { phase in
            guard phase != dropped, let image = study.phases[phase] else { return nil }
            // Extra misalignment of up to one slice, and intensity scale and shift per phase.
            let shift = phase == .portalVenous ? 0 : Int.random(in: -1...1, using: &random)
            let scale = Float.random(in: 0.9...1.1, using: &random)
            let offset = Float.random(in: -0.1...0.1, using: &random)
            let values = sample(image.voxels, shift: shift).map { normaliseHounsfieldUnits($0) * scale + offset }
            return Tensor(shape: [1] + window + [1], scalars: values)
        }
        let labels = sample(study.labels.voxels.map { Float($0) }, shift: 0).map { UInt8($0) }

        // Lesions with at least 8 voxels in the window; the class order is that of LesionClass.
        let instances = sample(study.lesionInstances.voxels.map { Float($0) }, shift: 0).map { Int($0) }
        var voxelsByLesion: [Int: [Int]] = [:]
        for (index, id) in instances.enumerated() where id != 0 { voxelsByLesion[id, default: []].append(index) }
        let lesions = voxelsByLesion.keys.sorted().compactMap { id -> LesionTarget? in
            guard let voxels = voxelsByLesion[id], voxels.count >= 8,
                  let truth = study.lesions.first(where: { $0.id == id }),
                  let classIndex = LesionClass.allCases.firstIndex(of: truth.lesionClass) else { return nil }
            return LesionTarget(voxels: voxels, classIndex: classIndex)
        }
        return TrainingWindow(phases: phases, labels: labels, lesions: lesions)
    }

    /// Picks the index of the voxel a window is centred on. It is a lesion voxel with the chance
    /// `lesionFraction`, picked by the `lesionCentring` rule, otherwise any liver or lesion voxel.
    /// A study without liver gives its middle voxel.
    mutating func chooseCentre(in study: PhantomStudy) -> Int {
        let lesionVoxels = study.labels.voxels.indices.filter { study.labels.voxels[$0] == 2 }
        let liverVoxels = study.labels.voxels.indices.filter { study.labels.voxels[$0] != 0 }
        let centredOnLesion = !lesionVoxels.isEmpty && Double.random(in: 0..<1, using: &random) < options.lesionFraction
        let pool: [Int]
        switch (centredOnLesion, options.lesionCentring) {
        case (false, _): pool = liverVoxels
        case (true, .voxel): pool = lesionVoxels
        case (true, .lesion): pool = voxelsOfOneLesion(study, among: lesionVoxels)
        }
        return pool.isEmpty ? study.labels.voxels.count / 2 : pool[Int.random(in: 0..<pool.count, using: &random)]
    }

    /// Picks one of the study's lesions, each alike, and returns its voxels among `lesionVoxels`.
    /// A lesion of under 8 voxels gets its share too, although `cut` gives it no class target.
    private mutating func voxelsOfOneLesion(_ study: PhantomStudy, among lesionVoxels: [Int]) -> [Int] {
        var voxelsByLesion: [Int: [Int]] = [:]
        for index in lesionVoxels {
            let id = Int(study.lesionInstances.voxels[index])
            if id != 0 { voxelsByLesion[id, default: []].append(index) }
        }
        // The phantom gives every lesion voxel its lesion's ID. Without IDs, any lesion voxel will do.
        guard !voxelsByLesion.isEmpty else { return lesionVoxels }
        let ids = voxelsByLesion.keys.sorted()
        return voxelsByLesion[ids[Int.random(in: 0..<ids.count, using: &random)]]!
    }
}
