// Size of a lesion: volume, the RECIST axial diameters and the 3D maximum diameter, in patient
// space, for any spacing and direction.
import Foundation
import Imaging

/// The size and position of one lesion.
public struct LesionMeasurements: Codable, Sendable, Equatable {
    public let volumeMillilitres: Double
    /// Longest diameter in an axial plane (RECIST), outer edge to outer edge, in mm.
    public let longestAxialDiameterMillimetres: Double
    /// Longest extent perpendicular to it in the same plane, in mm.
    public let perpendicularDiameterMillimetres: Double
    /// Longest extent in any direction, in mm; never less than the longest axial diameter.
    public let maximumDiameterMillimetres: Double
    /// Mean LPS position of the voxel centres, in mm.
    public let centroid: [Double]
}

/// Measures a lesion on the grid of its label map.
///
/// Diameters run between sub-voxel boundary points (see ``SubvoxelBoundary``): 3D ones from a
/// blur along all three axes, axial ones from an in-plane blur of each slice. The extreme voxel
/// centres, which lie inside the lesion, count too. Where the blur reaches one half nowhere (a
/// lesion one or two voxels across), the diameters run between the outer edges of its voxels.
/// Axial planes are the grid slices along the axis closest to the patient's head-foot axis; on
/// an oblique grid they tilt with it.
public func measure(_ lesion: LesionComponent, on geometry: Geometry) -> LesionMeasurements {
    let size = geometry.size
    let voxelMillilitres = geometry.spacing.x * geometry.spacing.y * geometry.spacing.z / 1000
    let members = Set(lesion.voxels)

    func indices(_ linear: Int) -> SIMD3<Int> {
        SIMD3(linear % size.x, (linear / size.x) % size.y, linear / (size.x * size.y))
    }
    func world(_ index: SIMD3<Int>) -> Vector3 {
        geometry.world(atIndex: Vector3(Double(index.x), Double(index.y), Double(index.z)))
    }

    var sum = Vector3.zero
    for linear in lesion.voxels { sum += world(indices(linear)) }
    let centroid = sum / Double(lesion.voxels.count)

    // Only surface voxels can be extreme in a direction.
    let surface = lesion.voxels.map(indices).filter { index in
        for offset in [SIMD3(1, 0, 0), SIMD3(-1, 0, 0), SIMD3(0, 1, 0), SIMD3(0, -1, 0), SIMD3(0, 0, 1), SIMD3(0, 0, -1)] {
            let neighbour = index &+ offset
            if neighbour.x < 0 || neighbour.y < 0 || neighbour.z < 0 || neighbour.x >= size.x || neighbour.y >= size.y || neighbour.z >= size.z {
                return true
            }
            if !members.contains(neighbour.x + size.x * (neighbour.y + size.y * neighbour.z)) { return true }
        }
        return false
    }
    let boundary = SubvoxelBoundary(lesion.voxels.map(indices))
    let centres = surface.map { Vector3(Double($0.x), Double($0.y), Double($0.z)) }
    let matrix = geometry.indexToWorldMatrix
    // Where the blurred boundary is missing or lies inside the voxel centres (a lesion one or two
    // voxels across, or one voxel thick), the voxels' outer edges stand in for it.
    let boundary3D = boundary.points(blurringAxes: [0, 1, 2])
    let maximum = isCollapsed(boundary3D, inside: centres, axes: [0, 1, 2])
        ? longestExtent(centres.map(geometry.world(atIndex:)), directions: sphereDirections(count: 400), outerEdgesOf: matrix)
        : longestExtent((centres + boundary3D).map(geometry.world(atIndex:)), directions: sphereDirections(count: 400))

    // The slice axis is the grid axis most aligned with the patient's head-foot (z) axis.
    let sliceAxis = (0..<3).max { abs(geometry.direction.columns[$0].z) < abs(geometry.direction.columns[$1].z) }!
    let normal = normalized(geometry.direction.columns[sliceAxis])
    let inPlane = planeDirections(normal: normal, count: 180)
    // In-plane boundary points keep their slice's whole index along the slice axis.
    let boundaryBySlice = Dictionary(grouping: boundary.points(blurringAxes: (0..<3).filter { $0 != sliceAxis })) { Int($0[sliceAxis]) }
    var axial = (longest: 0.0, perpendicular: 0.0)
    let planeAxes = (0..<3).filter { $0 != sliceAxis }
    for (slice, sliceCentres) in Dictionary(grouping: centres, by: { Int($0[sliceAxis]) }) {
        let blurredEdges = boundaryBySlice[slice] ?? []
        let edges = isCollapsed(blurredEdges, inside: sliceCentres, axes: planeAxes) ? [] : blurredEdges
        let points = (sliceCentres + edges).map(geometry.world(atIndex:))
        let voxelEdges = edges.isEmpty ? matrix : nil
        let longest = longestExtent(points, directions: inPlane, outerEdgesOf: voxelEdges)
        guard longest.length > axial.longest else { continue }
        let perpendicular = normalized(cross(normal, longest.direction))
        axial = (longest.length, extent(points, along: perpendicular, outerEdgesOf: voxelEdges))
    }

    return LesionMeasurements(
        volumeMillilitres: Double(lesion.voxels.count) * voxelMillilitres,
        longestAxialDiameterMillimetres: axial.longest,
        perpendicularDiameterMillimetres: axial.perpendicular,
        // Every axial direction is also a direction in 3D. The in-plane blur estimates the edge
        // better than the 3D blur across few thick slices, and the axial search samples its
        // plane more finely, so the 3D search alone came out up to 1.6 mm shorter.
        maximumDiameterMillimetres: max(maximum.length, axial.longest),
        centroid: [centroid.x, centroid.y, centroid.z])
}

/// Measures the longest axial diameter of the lesion's voxels brighter than the liver ring in
/// the arterial phase by the APHE margin: mRECIST's viable (enhancing) tumour. 0 when none is.
public func viableAxialDiameter(of lesion: LesionComponent, arterial: Volume<Float>, liverRing: RegionStatistics, isCT: Bool,
                                thresholds: EnhancementThresholds = EnhancementThresholds()) -> Double {
    let threshold = liverRing.mean + thresholds.margin(liver: liverRing.mean, isCT: isCT)
    let viable = lesion.voxels.filter { Double(arterial.voxels[$0]) > threshold }
    guard !viable.isEmpty else { return 0 }
    return measure(LesionComponent(voxels: viable), on: arterial.geometry).longestAxialDiameterMillimetres
}

/// Returns whether blurred boundary points (grid indices) fail to reach beyond the voxel centres
/// they should enclose along one of `axes`. The blur of a row one voxel wide barely crosses one half
/// in its middle, so its edges there shrink the row to a fraction of a voxel across and cut off
/// its ends.
private func isCollapsed(_ edges: [Vector3], inside centres: [Vector3], axes: [Int]) -> Bool {
    guard !edges.isEmpty else { return true }
    func span(_ points: [Vector3], _ axis: Int) -> Double {
        let values = points.map { $0[axis] }
        return values.max()! - values.min()!
    }
    return axes.contains { span(edges, $0) < span(centres, $0) }
}

/// Finds the largest distance between `points` over `directions`: for each direction the extreme
/// points are candidates, and the farthest candidate pair wins. With `outerEdgesOf`, the points
/// are voxel centres of that grid and each distance gains one voxel's width along it.
private func longestExtent(_ points: [Vector3], directions: [Vector3], outerEdgesOf grid: Matrix3? = nil) -> (length: Double, direction: Vector3) {
    var candidates = Set<Int>()
    for direction in directions {
        var lowest = (value: Double.infinity, index: 0)
        var highest = (value: -Double.infinity, index: 0)
        for (index, point) in points.enumerated() {
            let value = dot(point, direction)
            if value < lowest.value { lowest = (value, index) }
            if value > highest.value { highest = (value, index) }
        }
        candidates.insert(lowest.index)
        candidates.insert(highest.index)
    }
    let chosen = Array(candidates)
    var best = (length: grid.map { voxelWidth(along: Vector3(1, 0, 0), matrix: $0) } ?? 0, direction: Vector3(1, 0, 0))
    for a in 0..<chosen.count {
        for b in (a + 1)..<max(a + 1, chosen.count) {
            let difference = points[chosen[b]] - points[chosen[a]]
            let distance = length(difference)
            guard distance > 0 else { continue }
            let direction = difference / distance
            let total = distance + (grid.map { voxelWidth(along: direction, matrix: $0) } ?? 0)
            if total > best.length { best = (total, direction) }
        }
    }
    return best
}

/// Measures the extent of `points` projected on `direction`; with `outerEdgesOf`, between the
/// outer edges of the voxels centred on them.
private func extent(_ points: [Vector3], along direction: Vector3, outerEdgesOf grid: Matrix3? = nil) -> Double {
    let values = points.map { dot($0, direction) }
    guard let low = values.min(), let high = values.max() else { return 0 }
    return high - low + (grid.map { voxelWidth(along: direction, matrix: $0) } ?? 0)
}

/// The width of one voxel along a unit direction, treating the voxel as the ellipsoid inscribed
/// in its box: exact along the grid axes, and free of the box's diagonal overshoot elsewhere.
private func voxelWidth(along direction: Vector3, matrix: Matrix3) -> Double {
    var sum = 0.0
    for axis in 0..<3 {
        let column = matrix.columns[axis]
        let projection = dot(direction, normalized(column)) * length(column)
        sum += projection * projection
    }
    return sum.squareRoot()
}

/// Evenly spread unit vectors on a half sphere (a direction and its opposite are the same here).
private func sphereDirections(count: Int) -> [Vector3] {
    let golden = Double.pi * (3 - 5.0.squareRoot())
    return (0..<count).map { index in
        let z = 1 - Double(index) / Double(count - 1)
        let radius = (1 - z * z).squareRoot()
        let angle = golden * Double(index)
        return Vector3(cos(angle) * radius, sin(angle) * radius, z)
    }
}

/// Unit vectors in the plane with the given normal, over half a turn.
private func planeDirections(normal: Vector3, count: Int) -> [Vector3] {
    let helper = abs(normal.x) < 0.9 ? Vector3(1, 0, 0) : Vector3(0, 1, 0)
    let u = normalized(cross(normal, helper))
    let v = cross(normal, u)
    return (0..<count).map { index in
        let angle = Double.pi * Double(index) / Double(count)
        return u * cos(angle) + v * sin(angle)
    }
}

private func normalized(_ vector: Vector3) -> Vector3 {
    vector / length(vector)
}
