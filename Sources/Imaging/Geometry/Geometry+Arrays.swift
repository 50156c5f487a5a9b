// Grids as plain arrays, the form the wire protocol and the job payloads carry them in.

extension Geometry {
    /// Builds a grid from its size, spacing, origin and direction cosines given row by row, so
    /// that column c is grid axis c in LPS. Returns nil when an array has the wrong length.
    public init?(size: [Int], spacing: [Double], origin: [Double], rowMajorDirection direction: [Double]) {
        guard size.count == 3, spacing.count == 3, origin.count == 3, direction.count == 9 else { return nil }
        self.init(size: VolumeSize(size[0], size[1], size[2]), spacing: Vector3(spacing[0], spacing[1], spacing[2]),
                  origin: Vector3(origin[0], origin[1], origin[2]),
                  direction: Matrix3(rows: Vector3(direction[0], direction[1], direction[2]),
                                     Vector3(direction[3], direction[4], direction[5]),
                                     Vector3(direction[6], direction[7], direction[8])))
    }

    /// The direction cosines row by row.
    public var rowMajorDirection: [Double] {
        (0..<3).flatMap { row in (0..<3).map { column in direction[row, column] } }
    }
}
