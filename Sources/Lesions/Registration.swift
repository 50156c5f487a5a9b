// Rigid alignment of two livers imaged in different positions: centroids first, then iterative
// closest points on the liver surfaces, trimmed to the closest pairs, with the Kabsch-Horn
// solution for each step.
import Foundation
import Imaging

/// A rigid transform in patient space: `rotation * point + translation`.
public struct RigidTransform: Sendable, Equatable {
    public var rotation: Matrix3
    public var translation: Vector3

    public static let identity = RigidTransform(rotation: .identity, translation: .zero)

    public init(rotation: Matrix3, translation: Vector3) {
        self.rotation = rotation
        self.translation = translation
    }

    public func apply(_ point: Vector3) -> Vector3 { rotation * point + translation }
}

/// Surface points of the liver label, at most `limit` of them spread evenly, in LPS mm. The
/// default is the number an analysis stores for tracking.
public func liverSurfacePoints(_ labels: Volume<UInt8>, limit: Int = 2000) -> [Vector3] {
    let size = labels.size
    var surface: [Int] = []
    for k in 0..<size.z {
        for j in 0..<size.y {
            for i in 0..<size.x {
                let index = i + size.x * (j + size.y * k)
                guard labels.voxels[index] != SegmentationLabel.background else { continue }
                let onEdge = i == 0 || j == 0 || k == 0 || i == size.x - 1 || j == size.y - 1 || k == size.z - 1
                    || labels.voxels[index - 1] == SegmentationLabel.background || labels.voxels[index + 1] == SegmentationLabel.background
                    || labels.voxels[index - size.x] == SegmentationLabel.background || labels.voxels[index + size.x] == SegmentationLabel.background
                    || labels.voxels[index - size.x * size.y] == SegmentationLabel.background
                    || labels.voxels[index + size.x * size.y] == SegmentationLabel.background
                if onEdge { surface.append(index) }
            }
        }
    }
    // Rounded up, so that no more than `limit` points are returned.
    let stride = max(1, (surface.count + limit - 1) / limit)
    return Swift.stride(from: 0, to: surface.count, by: stride).map { position in
        let index = surface[position]
        return labels.geometry.world(atIndex: Vector3(Double(index % size.x), Double((index / size.x) % size.y), Double(index / (size.x * size.y))))
    }
}

/// Finds the rigid transform that maps `moving` points onto `fixed` points by iterative closest
/// points with a Kabsch-Horn fit in each round. Surface that only one side has pulls little: a
/// liver the later scan cuts off, or a region the segmentation added.
///
/// Each round fits only the closest pairs (fractional ICP): as many as minimise their RMS distance
/// divided by the square of their share of all pairs, and at least `minimumShare` of them. A
/// distance counts as at least `distanceFloorMillimetres`, so that a small set of points that
/// coincides exactly, as points on two voxel grids can, does not score better than the whole
/// surface. The fit starts three times, from the centroid translation with the moving
/// points turned by -15, 0 and 15 degrees about the head-foot axis, and the best score wins.
///
/// NOTE: the share and floor were chosen on synthetic livers. How much missing or added surface
/// the fit tolerates is measured on one case only: a sixth of the height cut off plus a false
/// region, which lands 6-7 mm off.
public func alignRigidly(moving: [Vector3], onto fixed: [Vector3], iterations: Int = 50) -> RigidTransform {
    guard !moving.isEmpty, !fixed.isEmpty else { return .identity }
    let grid = PointGrid(fixed, cellSize: 8)
    let movingCentre = mean(moving)
    let fixedCentre = mean(fixed)
    var best: (transform: RigidTransform, score: Double)?
    // The moved points, their nearest fixed points and distances, nearest first.
    func pairs(under transform: RigidTransform) -> [(moved: Vector3, match: Vector3, distance: Double)] {
        moving.map { point in
            let moved = transform.apply(point)
            let match = grid.nearest(to: moved)
            return (moved: moved, match: match, distance: length(moved - match))
        }.sorted { $0.distance < $1.distance }
    }
    for degrees in [0.0, -15, 15] {
        let turn = rotation(aboutHeadFootAxisDegrees: degrees)
        var transform = RigidTransform(rotation: turn, translation: fixedCentre - turn * movingCentre)
        for _ in 0..<iterations {
            let closest = pairs(under: transform)
            let fitted = closestShare(distances: closest.map(\.distance)).count
            let step = kabsch(from: closest.prefix(fitted).map(\.moved), to: closest.prefix(fitted).map(\.match))
            transform = RigidTransform(rotation: step.rotation * transform.rotation,
                                       translation: step.rotation * transform.translation + step.translation)
            if length(step.translation) < 1e-3 && abs(3 - trace(step.rotation)) < 1e-8 { break }
        }
        // Scored where the fit ended, not one round before.
        let score = closestShare(distances: pairs(under: transform).map(\.distance)).score
        if best == nil || score < best!.score { best = (transform, score) }
    }
    return best!.transform
}

private let minimumShare = 0.4
private let distanceFloorMillimetres = 1.5

/// Returns how many of the closest pairs to fit, from `distances` sorted ascending, and their
/// score: RMS distance over the square of their share.
private func closestShare(distances: [Double]) -> (count: Int, score: Double) {
    var best = (count: distances.count, score: Double.infinity)
    var sumOfSquares = 0.0
    for (index, distance) in distances.enumerated() {
        sumOfSquares += pow(max(distance, distanceFloorMillimetres), 2)
        let count = index + 1
        let share = Double(count) / Double(distances.count)
        guard share >= minimumShare else { continue }
        let score = (sumOfSquares / Double(count)).squareRoot() / (share * share)
        if score < best.score { best = (count, score) }
    }
    return best
}

private func rotation(aboutHeadFootAxisDegrees degrees: Double) -> Matrix3 {
    let angle = degrees * .pi / 180
    return Matrix3(rows: Vector3(cos(angle), -sin(angle), 0), Vector3(sin(angle), cos(angle), 0), Vector3(0, 0, 1))
}

private func mean(_ points: [Vector3]) -> Vector3 {
    points.reduce(Vector3.zero, +) / Double(points.count)
}

private func trace(_ matrix: Matrix3) -> Double { matrix[0, 0] + matrix[1, 1] + matrix[2, 2] }

/// Returns the rotation and translation that best map `source` onto `target` in the least-squares sense,
/// from the quaternion eigenvector of Horn's 4x4 matrix (found by power iteration on a shifted
/// matrix, which needs no general eigen-solver).
private func kabsch(from source: [Vector3], to target: [Vector3]) -> RigidTransform {
    let sourceCentre = mean(source)
    let targetCentre = mean(target)
    var s = [[Double]](repeating: [0, 0, 0], count: 3)
    for (a, b) in zip(source, target) {
        let p = a - sourceCentre
        let q = b - targetCentre
        for row in 0..<3 {
            for column in 0..<3 { s[row][column] += p[row] * q[column] }
        }
    }
    let n: [[Double]] = [
        [s[0][0] + s[1][1] + s[2][2], s[1][2] - s[2][1], s[2][0] - s[0][2], s[0][1] - s[1][0]],
        [s[1][2] - s[2][1], s[0][0] - s[1][1] - s[2][2], s[0][1] + s[1][0], s[2][0] + s[0][2]],
        [s[2][0] - s[0][2], s[0][1] + s[1][0], -s[0][0] + s[1][1] - s[2][2], s[1][2] + s[2][1]],
        [s[0][1] - s[1][0], s[2][0] + s[0][2], s[1][2] + s[2][1], -s[0][0] - s[1][1] + s[2][2]],
    ]
    // Shift by a bound on the spectral radius so the largest eigenvalue dominates the iteration.
    let shift = n.flatMap { $0 }.reduce(0) { $0 + abs($1) }
    var quaternion = [1.0, 0, 0, 0]
    for _ in 0..<200 {
        var next = [0.0, 0, 0, 0]
        for row in 0..<4 {
            for column in 0..<4 { next[row] += (n[row][column] + (row == column ? shift : 0)) * quaternion[column] }
        }
        let norm = next.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard norm > 0 else { break }
        quaternion = next.map { $0 / norm }
    }
    let (w, x, y, z) = (quaternion[0], quaternion[1], quaternion[2], quaternion[3])
    let rotation = Matrix3(rows:
        Vector3(w * w + x * x - y * y - z * z, 2 * (x * y - w * z), 2 * (x * z + w * y)),
        Vector3(2 * (x * y + w * z), w * w - x * x + y * y - z * z, 2 * (y * z - w * x)),
        Vector3(2 * (x * z - w * y), 2 * (y * z + w * x), w * w - x * x - y * y + z * z))
    return RigidTransform(rotation: rotation, translation: targetCentre - rotation * sourceCentre)
}

/// Points sorted into the cubic cells of their bounding box for nearest-neighbour queries.
/// Queries use scalar arithmetic: SIMD and generic calls are slow in debug builds.
struct PointGrid {
    let cellSize: Double
    let origin: Vector3
    let cellCounts: (x: Int, y: Int, z: Int)
    /// The points of cell `c` are `points[cellStarts[c]..<cellStarts[c + 1]]`.
    let cellStarts: [Int]
    let points: [Vector3]

    init(_ points: [Vector3], cellSize: Double) {
        precondition(!points.isEmpty, "a point grid needs at least one point")
        self.cellSize = cellSize
        origin = points.dropFirst().reduce(points[0]) { pointwiseMin($0, $1) }
        let extent = points.dropFirst().reduce(points[0]) { pointwiseMax($0, $1) } - origin
        let counts = (x: Int(extent.x / cellSize) + 1, y: Int(extent.y / cellSize) + 1, z: Int(extent.z / cellSize) + 1)
        let corner = origin
        let cellOfPoint = points.map { point in
            Int((point.x - corner.x) / cellSize) + counts.x * (Int((point.y - corner.y) / cellSize) + counts.y * Int((point.z - corner.z) / cellSize))
        }
        var starts = [Int](repeating: 0, count: counts.x * counts.y * counts.z + 1)
        for cell in cellOfPoint { starts[cell + 1] += 1 }
        for cell in 0..<(starts.count - 1) { starts[cell + 1] += starts[cell] }
        var sorted = [Vector3](repeating: .zero, count: points.count)
        var next = starts
        for (point, cell) in zip(points, cellOfPoint) {
            sorted[next[cell]] = point
            next[cell] += 1
        }
        cellCounts = counts
        cellStarts = starts
        self.points = sorted
    }

    /// Returns the nearest stored point, searching shells of cells outward from the query's
    /// cell, from the first shell that reaches the box, until no further shell can hold a
    /// nearer point.
    func nearest(to point: Vector3) -> Vector3 {
        let centre = (x: Int(((point.x - origin.x) / cellSize).rounded(.down)), y: Int(((point.y - origin.y) / cellSize).rounded(.down)),
                      z: Int(((point.z - origin.z) / cellSize).rounded(.down)))
        // Shells are counted in cells along the farthest axis. A query outside the box reaches
        // it at `firstShell`, and by `lastShell` every cell of the box has been searched.
        let below = (x: -centre.x, y: -centre.y, z: -centre.z)
        let above = (x: centre.x - (cellCounts.x - 1), y: centre.y - (cellCounts.y - 1), z: centre.z - (cellCounts.z - 1))
        let firstShell = Swift.max(0, Swift.max(below.x, above.x), Swift.max(below.y, above.y), Swift.max(below.z, above.z))
        let lastShell = Swift.max(Swift.max(-below.x, -above.x), Swift.max(-below.y, -above.y), Swift.max(-below.z, -above.z), firstShell)
        var bestSquared = Double.infinity
        var best = point

        func search(_ x: Int, _ y: Int, _ z: Int) {
            let cell = x + cellCounts.x * (y + cellCounts.y * z)
            for index in cellStarts[cell]..<cellStarts[cell + 1] {
                let candidate = points[index]
                let dx = candidate.x - point.x, dy = candidate.y - point.y, dz = candidate.z - point.z
                let squared = dx * dx + dy * dy + dz * dz
                if squared < bestSquared {
                    bestSquared = squared
                    best = candidate
                }
            }
        }

        for shell in firstShell...lastShell {
            let xRange = (low: Swift.max(centre.x - shell, 0), high: Swift.min(centre.x + shell, cellCounts.x - 1))
            for z in Swift.max(centre.z - shell, 0)...Swift.min(centre.z + shell, cellCounts.z - 1) {
                for y in Swift.max(centre.y - shell, 0)...Swift.min(centre.y + shell, cellCounts.y - 1) {
                    if z == centre.z - shell || z == centre.z + shell || y == centre.y - shell || y == centre.y + shell {
                        for x in xRange.low...xRange.high { search(x, y, z) }
                    } else {
                        // Inside the shell's faces only its two x ends belong to it.
                        if centre.x - shell >= 0 { search(centre.x - shell, y, z) }
                        if centre.x + shell < cellCounts.x { search(centre.x + shell, y, z) }
                    }
                }
            }
            // Points in further shells are at least `shell * cellSize` away.
            let reach = Double(shell) * cellSize
            if bestSquared <= reach * reach { return best }
        }
        return best
    }
}
