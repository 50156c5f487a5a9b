// A 3x3 matrix of doubles for direction cosines and affine transforms in patient space.

/// A point or direction in patient space, in millimetres.
public typealias Vector3 = SIMD3<Double>

/// A 3x3 matrix stored by columns.
///
/// A volume's direction matrix has one column per voxel axis (i, j, k): each column is the unit
/// vector, in LPS patient coordinates, along which that index grows.
public struct Matrix3: Equatable, Sendable, CustomStringConvertible {
    /// The columns, in order.
    public var columns: [Vector3]

    /// Creates a matrix from its three columns.
    public init(columns c0: Vector3, _ c1: Vector3, _ c2: Vector3) {
        columns = [c0, c1, c2]
    }

    /// Creates a matrix from rows, as matrices are written on paper.
    public init(rows r0: Vector3, _ r1: Vector3, _ r2: Vector3) {
        columns = [Vector3(r0.x, r1.x, r2.x), Vector3(r0.y, r1.y, r2.y), Vector3(r0.z, r1.z, r2.z)]
    }

    /// The identity matrix.
    public static let identity = Matrix3(columns: Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, 1))

    /// Returns the element at `row`, `column`.
    public subscript(row: Int, column: Int) -> Double {
        get { columns[column][row] }
        set { columns[column][row] = newValue }
    }

    /// The determinant; negative for a left-handed set of axes.
    public var determinant: Double {
        dot(columns[0], cross(columns[1], columns[2]))
    }

    /// The transpose, which is the inverse for a rotation.
    public var transposed: Matrix3 {
        Matrix3(rows: columns[0], columns[1], columns[2])
    }

    /// The inverse, or nil when the matrix is singular.
    public var inverse: Matrix3? {
        let det = determinant
        guard abs(det) > 1e-12 else { return nil }
        let r0 = cross(columns[1], columns[2]) / det
        let r1 = cross(columns[2], columns[0]) / det
        let r2 = cross(columns[0], columns[1]) / det
        return Matrix3(rows: r0, r1, r2)
    }

    public static func * (m: Matrix3, v: Vector3) -> Vector3 {
        m.columns[0] * v.x + m.columns[1] * v.y + m.columns[2] * v.z
    }

    public static func * (a: Matrix3, b: Matrix3) -> Matrix3 {
        Matrix3(columns: a * b.columns[0], a * b.columns[1], a * b.columns[2])
    }

    public var description: String {
        let rows = (0..<3).map { r in (0..<3).map { c in String(self[r, c]) }.joined(separator: " ") }
        return "[" + rows.joined(separator: "; ") + "]"
    }
}

/// The dot product of two vectors.
@inlinable public func dot(_ a: Vector3, _ b: Vector3) -> Double {
    (a * b).sum()
}

/// The cross product `a x b`.
@inlinable public func cross(_ a: Vector3, _ b: Vector3) -> Vector3 {
    Vector3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
}

/// The Euclidean length of a vector.
@inlinable public func length(_ v: Vector3) -> Double {
    dot(v, v).squareRoot()
}
