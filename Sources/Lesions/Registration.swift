// Rigid alignment of two livers imaged in different positions: centroids first, then iterative
// closest points on the liver surfaces with the Kabsch-Horn solution for each step.
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

/// Surface points of the liver label, at most `limit` of them spread evenly, in LPS mm.
public func liverSurfacePoints(_ labels: Volume<UInt8>, limit: Int = 4000) -> [Vector3] {
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

/// Finds the rigid transform that maps `moving` points onto `fixed` points: the centroid
/// translation first, then `iterations` rounds of closest-point matching and Kabsch-Horn fitting.
public func alignRigidly(moving: [Vector3], onto fixed: [Vector3], iterations: Int = 30) -> RigidTransform {
    guard !moving.isEmpty, !fixed.isEmpty else { return .identity }
    var transform = RigidTransform(rotation: .identity, translation: mean(fixed) - mean(moving))
    let grid = PointGrid(fixed, cellSize: 8)

    for _ in 0..<iterations {
        let moved = moving.map(transform.apply)
        let matches = moved.map { grid.nearest(to: $0) }
        let step = kabsch(from: moved, to: matches)
        transform = RigidTransform(rotation: step.rotation * transform.rotation,
                                   translation: step.rotation * transform.translation + step.translation)
        if length(step.translation) < 1e-3 && abs(3 - trace(step.rotation)) < 1e-8 { break }
    }
    return transform
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

/// Points hashed into cubic cells for nearest-neighbour queries.
private struct PointGrid {
    let cellSize: Double
    var cells: [SIMD3<Int>: [Vector3]] = [:]

    init(_ points: [Vector3], cellSize: Double) {
        self.cellSize = cellSize
        for point in points { cells[cell(of: point), default: []].append(point) }
    }

    func cell(of point: Vector3) -> SIMD3<Int> {
        SIMD3(Int((point.x / cellSize).rounded(.down)), Int((point.y / cellSize).rounded(.down)), Int((point.z / cellSize).rounded(.down)))
    }

    /// Returns the nearest stored point, searching rings of cells outward until one contains a point.
    func nearest(to point: Vector3) -> Vector3 {
        let centre = cell(of: point)
        var best: (distance: Double, point: Vector3)?
        var ring = 0
        while ring < 64 {
            for dz in -ring...ring {
                for dy in -ring...ring {
                    for dx in -ring...ring where max(abs(dx), abs(dy), abs(dz)) == ring {
                        for candidate in cells[centre &+ SIMD3(dx, dy, dz)] ?? [] {
                            let distance = length(candidate - point)
                            if best == nil || distance < best!.distance { best = (distance, candidate) }
                        }
                    }
                }
            }
            // Points in further rings are at least `ring * cellSize` away.
            if let best, best.distance <= Double(ring) * cellSize { return best.point }
            ring += 1
        }
        return best?.point ?? point
    }
}
