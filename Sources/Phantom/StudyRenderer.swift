// Renders one study of a phantom patient: an image per phase, and the ground-truth label maps
// on the portal venous grid.
import Foundation
import Imaging

/// One rendered study.
public struct PhantomStudy: Sendable {
    public let timepoint: Int
    /// Images per phase, in HU (or MRI-like signal); missing phases are absent.
    public let phases: [Phase: Volume<Float>]
    /// 0 background, 1 liver, 2 lesion, on the portal venous grid.
    public let labels: Volume<UInt8>
    /// Lesion ID per voxel (0 elsewhere), on the portal venous grid.
    public let lesionInstances: Volume<UInt16>
    /// Ground truth of each lesion with a voxel in the label maps. A lesion cut by the grid's
    /// edge keeps the sizes of its whole shape.
    public let lesions: [LesionTruth]
    /// The shift applied to each phase relative to the portal venous phase, in mm.
    public let phaseShifts: [Phase: Vector3]
    /// Standard deviation of the added noise, in HU.
    public let noiseHounsfieldUnits: Double
}

/// Ground truth of one lesion in one study, in the study's patient space.
public struct LesionTruth: Codable, Sendable, Equatable {
    public let id: Int
    /// The same for a lesion across all studies of the patient.
    public let track: Int
    public let lesionClass: LesionClass
    public let centre: [Double]
    public let volumeMillilitres: Double
    public let longestAxialDiameterMillimetres: Double
    public let perpendicularDiameterMillimetres: Double
    public let maximumDiameterMillimetres: Double
    /// Fraction of the lesion that still enhances (below 1 after treatment).
    public let viableFraction: Double
    public let hasCapsule: Bool
}

extension PhantomPatient {
    /// Renders the study at `timepoint`.
    public func renderStudy(timepoint: Int) -> PhantomStudy {
        let lesions = lesions(at: timepoint)
        let pose = pose(at: timepoint)
        let shifts = phaseShifts(at: timepoint)
        var noiseRandom = RandomSource(seed: seed).derived(UInt64(number)).derived(400 + UInt64(timepoint))
        let noise = noiseRandom.uniform(10...20)

        let reference = referenceGrid()
        var phases: [Phase: Volume<Float>] = [:]
        for phase in Phase.allCases where !options.droppedPhases.contains(phase) {
            var grid = reference
            if let sliceSpacing = options.sliceSpacing[phase] {
                let extent = Double(reference.size.z - 1) * reference.spacing.z
                grid.size.z = Int((extent / sliceSpacing).rounded()) + 1
                grid.spacing.z = sliceSpacing
            }
            let clean = render(grid: grid, lesions: lesions, pose: pose, shift: shifts[phase]!, phase: phase)
            var noisy = blurred(clean)
            var random = noiseRandom.derived(UInt64(phase.hashValueStable))
            noisy.voxels.withUnsafeMutableBufferPointer { voxels in
                // Box-Muller gives two independent normal values per pair of uniform draws.
                var index = 0
                while index < voxels.count {
                    let u1 = max(Double.random(in: 0..<1, using: &random), 1e-12)
                    let u2 = Double.random(in: 0..<1, using: &random)
                    let radius = noise * (-2 * log(u1)).squareRoot()
                    voxels[index] += Float(radius * cos(2 * .pi * u2))
                    if index + 1 < voxels.count { voxels[index + 1] += Float(radius * sin(2 * .pi * u2)) }
                    index += 2
                }
            }
            phases[phase] = options.mriLike ? mriSignal(noisy) : noisy
        }

        let (labels, instances) = renderLabels(grid: reference, lesions: lesions, pose: pose)
        // A lesion outside the grid, or between its voxel centres, is not in the study.
        let rendered = Set(instances.voxels)
        let truths = lesions.filter { rendered.contains(UInt16($0.id)) }.map { truth(of: $0, pose: pose) }
        var appliedShifts = shifts
        for phase in options.droppedPhases { appliedShifts[phase] = nil }
        return PhantomStudy(timepoint: timepoint, phases: phases, labels: labels, lesionInstances: instances, lesions: truths,
                            phaseShifts: appliedShifts, noiseHounsfieldUnits: noise)
    }

    /// Returns the portal venous grid: axial, centred on the body and on the liver's height.
    func referenceGrid() -> Geometry {
        let size = options.size
        let spacing = options.spacing
        let origin = Vector3(-Double(size.x - 1) / 2 * spacing.x, -Double(size.y - 1) / 2 * spacing.y,
                             20 - Double(size.z - 1) / 2 * spacing.z)
        return Geometry(size: size, spacing: spacing, origin: origin)
    }

    /// Renders the noise-free image of one phase: every voxel centre is mapped back into the anatomy's
    /// frame (undoing the pose and the phase's breathing shift) and classified there.
    private func render(grid: Geometry, lesions: [LesionShape], pose: (rotation: Matrix3, translation: Vector3),
                        shift: Vector3, phase: Phase) -> Volume<Float> {
        var voxels = [Float](repeating: 0, count: grid.voxelCount)
        let table = attenuation.lookup(phase)
        // Rows of the map from grid index to the anatomy's frame, unrolled for the hot loop.
        let inverse = pose.rotation.transposed
        let toWorld = grid.indexToWorldMatrix
        let rows = (0..<3).map { row in Vector3(inverse[row, 0], inverse[row, 1], inverse[row, 2]) }
        let start = grid.origin - pose.translation - shift
        let stepI = toWorld.columns[0], stepJ = toWorld.columns[1], stepK = toWorld.columns[2]
        var index = 0
        for k in 0..<grid.size.z {
            for j in 0..<grid.size.y {
                for i in 0..<grid.size.x {
                    defer { index += 1 }
                    let world = start + stepI * Double(i) + stepJ * Double(j) + stepK * Double(k)
                    let point = Vector3(dot(rows[0], world), dot(rows[1], world), dot(rows[2], world))
                    let tissue = anatomy.tissue(at: point)
                    var value = table[Int(tissue.rawValue)]
                    if tissue == .liver || tissue == .portalVein || tissue == .hepaticVein {
                        for lesion in lesions where length(point - lesion.centre) <= lesion.boundingRadius {
                            let position = lesion.radialPosition(point)
                            if position <= 1 {
                                value = lesion.attenuation(at: point, position: position, phase: phase)
                                break
                            }
                        }
                    }
                    voxels[index] = Float(value)
                }
            }
        }
        return Volume(geometry: grid, voxels: voxels)
    }

    private func renderLabels(grid: Geometry, lesions: [LesionShape], pose: (rotation: Matrix3, translation: Vector3))
        -> (Volume<UInt8>, Volume<UInt16>) {
        var labels = Volume<UInt8>(geometry: grid, repeating: 0)
        var instances = Volume<UInt16>(geometry: grid, repeating: 0)
        let inverse = pose.rotation.transposed
        for k in 0..<grid.size.z {
            for j in 0..<grid.size.y {
                for i in 0..<grid.size.x {
                    let point = inverse * (grid.world(atIndex: Vector3(Double(i), Double(j), Double(k))) - pose.translation)
                    guard anatomy.isLiver(point) else { continue }
                    labels[i, j, k] = 1
                    for lesion in lesions where length(point - lesion.centre) <= lesion.boundingRadius && lesion.radialPosition(point) <= 1 {
                        labels[i, j, k] = 2
                        instances[i, j, k] = UInt16(lesion.id)
                        break
                    }
                }
            }
        }
        return (labels, instances)
    }

    /// Partial volume: a separable [1 2 1]/4 blur along each axis, about 0.7 voxels wide.
    private func blurred(_ volume: Volume<Float>) -> Volume<Float> {
        let size = volume.size
        let strides = [1, size.x, size.x * size.y]
        let lengths = [size.x, size.y, size.z]
        var source = volume.voxels
        var target = source
        for axis in 0..<3 {
            let stride = strides[axis]
            let length = lengths[axis]
            source.withUnsafeBufferPointer { input in
                target.withUnsafeMutableBufferPointer { output in
                    for index in 0..<input.count {
                        let position = (index / stride) % length
                        let previous = position > 0 ? input[index - stride] : input[index]
                        let next = position < length - 1 ? input[index + stride] : input[index]
                        output[index] = 0.25 * previous + 0.5 * input[index] + 0.25 * next
                    }
                }
            }
            swap(&source, &target)
        }
        return Volume(geometry: volume.geometry, voxels: source)
    }

    /// Maps HU to an MRI-like T1 signal: fat bright, water and air dark, enhancement kept in order.
    private func mriSignal(_ volume: Volume<Float>) -> Volume<Float> {
        var result = volume
        for index in result.voxels.indices {
            let hu = Double(volume.voxels[index])
            let signal: Double
            if hu < -500 {
                signal = 5
            } else if hu < -50 {
                signal = 650 + (hu + 100) * 0.5
            } else {
                signal = max(0, 180 + 3.2 * hu)
            }
            result.voxels[index] = Float(signal)
        }
        return result
    }

    /// Computes the analytic size of a lesion in the study's patient space: the volume by quadrature over
    /// directions, the maximum diameter from a dense sampling of the surface, and the axial
    /// diameters from chords through the centre line, every 1.5 degrees in axial planes 0.5 mm apart.
    func truth(of lesion: LesionShape, pose: (rotation: Matrix3, translation: Vector3)) -> LesionTruth {
        // In the study's space the lesion is rotated by the pose; test points go back through it.
        let inverse = pose.rotation.transposed
        let centre = pose.rotation * lesion.centre + pose.translation
        func inside(_ world: Vector3) -> Bool { lesion.radialPosition(inverse * (world - pose.translation)) <= 1 }
        func boundary(from start: Vector3, along direction: Vector3) -> Double {
            var low = 0.0
            var high = lesion.boundingRadius * 1.2
            for _ in 0..<22 {
                let middle = (low + high) / 2
                if inside(start + direction * middle) { low = middle } else { high = middle }
            }
            return low
        }

        let directions = fibonacciSphere(count: 800)
        var volumeSum = 0.0
        var surface: [Vector3] = []
        for direction in directions {
            let distance = boundary(from: centre, along: direction)
            volumeSum += pow(distance, 3) / 3
            surface.append(centre + direction * distance)
        }
        var maximum = 0.0
        for a in 0..<surface.count {
            for b in (a + 1)..<surface.count { maximum = max(maximum, length(surface[b] - surface[a])) }
        }

        var axial = (longest: 0.0, perpendicular: 0.0)
        let reach = lesion.boundingRadius
        for z in stride(from: centre.z - reach, through: centre.z + reach, by: 0.5) {
            let start = Vector3(centre.x, centre.y, z)
            guard inside(start) else { continue }
            for step in 0..<120 {
                let angle = Double(step) * .pi / 120
                let direction = Vector3(cos(angle), sin(angle), 0)
                let chord = boundary(from: start, along: direction) + boundary(from: start, along: direction * -1)
                guard chord > axial.longest else { continue }
                let across = Vector3(-direction.y, direction.x, 0)
                axial = (chord, boundary(from: start, along: across) + boundary(from: start, along: across * -1))
            }
        }

        return LesionTruth(id: lesion.id, track: lesion.id, lesionClass: lesion.lesionClass, centre: [centre.x, centre.y, centre.z],
                           volumeMillilitres: volumeSum * 4 * .pi / Double(directions.count) / 1000,
                           longestAxialDiameterMillimetres: axial.longest, perpendicularDiameterMillimetres: axial.perpendicular,
                           maximumDiameterMillimetres: maximum, viableFraction: lesion.viableFraction, hasCapsule: lesion.hasCapsule)
    }
}

func fibonacciSphere(count: Int) -> [Vector3] {
    let golden = Double.pi * (3 - 5.0.squareRoot())
    return (0..<count).map { index in
        let z = 1 - 2 * (Double(index) + 0.5) / Double(count)
        let radius = (1 - z * z).squareRoot()
        return Vector3(cos(golden * Double(index)) * radius, sin(golden * Double(index)) * radius, z)
    }
}

extension Phase {
    /// A fixed number per phase for seeding, unlike `hashValue`, which changes between runs.
    var hashValueStable: Int { Phase.allCases.firstIndex(of: self)! }
}

extension PhantomPatient {
    /// Returns the tissue class of every voxel of the portal venous grid at `timepoint`, before lesions:
    /// ground truth for checking the attenuation of each tissue.
    public func tissueMap(timepoint: Int) -> Volume<UInt8> {
        let grid = referenceGrid()
        let pose = pose(at: timepoint)
        let inverse = pose.rotation.transposed
        var map = Volume<UInt8>(geometry: grid, repeating: 0)
        for k in 0..<grid.size.z {
            for j in 0..<grid.size.y {
                for i in 0..<grid.size.x {
                    let point = inverse * (grid.world(atIndex: Vector3(Double(i), Double(j), Double(k))) - pose.translation)
                    map[i, j, k] = anatomy.tissue(at: point).rawValue
                }
            }
        }
        return map
    }
}

extension PhantomPatient {
    /// Renders the label map and lesion instance map of the study at `timepoint`, without images: the
    /// ground truth alone, much cheaper than ``renderStudy(timepoint:)``.
    public func renderLabelMaps(timepoint: Int) -> (labels: Volume<UInt8>, lesionInstances: Volume<UInt16>) {
        renderLabels(grid: referenceGrid(), lesions: lesions(at: timepoint), pose: pose(at: timepoint))
    }
}
