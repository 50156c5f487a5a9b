// Analytic shapes the anatomy is built from, tested point by point in patient space (mm).
import Foundation
import Imaging

/// An ellipsoid with its axes turned by `rotation` (columns are the axis directions).
struct Ellipsoid: Sendable {
    let centre: Vector3
    let radii: Vector3
    /// The rotated axes divided by their radii, kept apart from `Matrix3` for speed in the
    /// per-voxel loop.
    private let scaledAxes: (Vector3, Vector3, Vector3)

    init(centre: Vector3, radii: Vector3, rotation: Matrix3 = .identity) {
        self.centre = centre
        self.radii = radii
        scaledAxes = (rotation.columns[0] / radii.x, rotation.columns[1] / radii.y, rotation.columns[2] / radii.z)
    }

    /// Returns the squared normalised distance: below 1 inside, 1 on the surface.
    func level(_ point: Vector3) -> Double {
        let offset = point - centre
        let u = dot(offset, scaledAxes.0)
        let v = dot(offset, scaledAxes.1)
        let w = dot(offset, scaledAxes.2)
        return u * u + v * v + w * w
    }

    func contains(_ point: Vector3) -> Bool { level(point) <= 1 }

    /// A box that holds the ellipsoid, for skipping far points cheaply.
    var boundingRadius: Double { max(radii.x, radii.y, radii.z) }
}

/// A tube along a polyline: a vessel or a rib.
struct Tube: Sendable {
    let points: [Vector3]
    let radius: Double
    /// Corners of a box that holds the tube, for rejecting far points before any segment test.
    private let low: Vector3
    private let high: Vector3

    init(points: [Vector3], radius: Double) {
        self.points = points
        self.radius = radius
        var low = points[0]
        var high = points[0]
        for point in points {
            low = Vector3(min(low.x, point.x), min(low.y, point.y), min(low.z, point.z))
            high = Vector3(max(high.x, point.x), max(high.y, point.y), max(high.z, point.z))
        }
        self.low = low - Vector3(repeating: radius)
        self.high = high + Vector3(repeating: radius)
    }

    func contains(_ point: Vector3) -> Bool {
        guard point.x >= low.x, point.y >= low.y, point.z >= low.z, point.x <= high.x, point.y <= high.y, point.z <= high.z else {
            return false
        }
        for index in 0..<(points.count - 1) where distanceToSegment(point, points[index], points[index + 1]) <= radius {
            return true
        }
        return false
    }
}

func distanceToSegment(_ point: Vector3, _ a: Vector3, _ b: Vector3) -> Double {
    let segment = b - a
    let lengthSquared = dot(segment, segment)
    let t = lengthSquared > 0 ? min(max(dot(point - a, segment) / lengthSquared, 0), 1) : 0
    return length(point - (a + segment * t))
}

/// Returns a rotation about the head-foot (z) axis followed by one about the left-right (x) axis.
func rotation(aboutZ zDegrees: Double, aboutX xDegrees: Double = 0) -> Matrix3 {
    let z = zDegrees * .pi / 180
    let x = xDegrees * .pi / 180
    let aboutZ = Matrix3(rows: Vector3(cos(z), -sin(z), 0), Vector3(sin(z), cos(z), 0), Vector3(0, 0, 1))
    let aboutX = Matrix3(rows: Vector3(1, 0, 0), Vector3(0, cos(x), -sin(x)), Vector3(0, sin(x), cos(x)))
    return aboutZ * aboutX
}
