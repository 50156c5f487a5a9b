// Conversions between NIfTI's RAS affines (sform, qform) and `Geometry` in LPS.

extension NIfTIHeader {
    /// The voxel-to-RAS affine nibabel's `get_best_affine` returns: the sform when sform_code > 0,
    /// else the qform when qform_code > 0, else a centred affine from the voxel sizes.
    /// Rows are (a, b, c, offset).
    public var bestAffine: [[Double]] {
        if sformCode > 0 { return srow }
        if qformCode > 0 { return qformAffine }
        // nibabel's fallback (Analyze base affine): x flipped, voxel (dim - 1) / 2 at the origin.
        let zooms = (1...3).map { pixdim[$0] == 0 ? 1 : abs(pixdim[$0]) }
        let sizes = (1...3).map { Double(size($0)) }
        return [
            [-zooms[0], 0, 0, (sizes[0] - 1) / 2 * zooms[0]],
            [0, zooms[1], 0, -(sizes[1] - 1) / 2 * zooms[1]],
            [0, 0, zooms[2], -(sizes[2] - 1) / 2 * zooms[2]],
        ]
    }

    /// The affine of the qform (quaternion, voxel sizes and qfac), as in nifti1.h.
    public var qformAffine: [[Double]] {
        let (b, c, d) = (quaternion.x, quaternion.y, quaternion.z)
        let a = max(0, 1 - (b * b + c * c + d * d)).squareRoot()
        let rotation = Matrix3(rows:
            Vector3(a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)),
            Vector3(2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)),
            Vector3(2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b))
        let qfac = pixdim[0] < 0 ? -1.0 : 1.0
        let zooms = Vector3(pixdim[1], pixdim[2], pixdim[3] * qfac)
        return (0..<3).map { row in
            [rotation[row, 0] * zooms.x, rotation[row, 1] * zooms.y, rotation[row, 2] * zooms.z, qoffset[row]]
        }
    }

    /// The grid of one 3D volume, in LPS, from `bestAffine`.
    public var geometry: Geometry {
        Geometry(rasAffine: bestAffine, size: VolumeSize(size(1), size(2), size(3)))
    }
}

extension Geometry {
    /// Creates a grid from a voxel-to-RAS affine (rows of (a, b, c, offset)) by negating x and y.
    public init(rasAffine affine: [[Double]], size: VolumeSize) {
        let lps = [-1.0, -1.0, 1.0]
        let columns = (0..<3).map { column in
            Vector3(lps[0] * affine[0][column], lps[1] * affine[1][column], lps[2] * affine[2][column])
        }
        let spacing = Vector3(length(columns[0]), length(columns[1]), length(columns[2]))
        let units = (0..<3).map { spacing[$0] > 0 ? columns[$0] / spacing[$0] : Vector3(0, 0, 0) }
        self.init(size: size, spacing: spacing,
                  origin: Vector3(-affine[0][3], -affine[1][3], affine[2][3]),
                  direction: Matrix3(columns: units[0], units[1], units[2]))
    }

    /// The voxel-to-RAS affine of this grid, rows of (a, b, c, offset).
    public var rasAffine: [[Double]] {
        let matrix = indexToWorldMatrix
        let signs = [-1.0, -1.0, 1.0]
        return (0..<3).map { row in
            [signs[row] * matrix[row, 0], signs[row] * matrix[row, 1], signs[row] * matrix[row, 2], signs[row] * origin[row]]
        }
    }

    /// The NIfTI quaternion (b, c, d) and qfac of this grid's direction, as nifti1.h's
    /// `nifti_mat44_to_quatern` computes them for the RAS rotation.
    var rasQuaternion: (quaternion: Vector3, qfac: Double) {
        var r = Matrix3(columns: direction.columns[0] * Vector3(-1, -1, 1),
                        direction.columns[1] * Vector3(-1, -1, 1),
                        direction.columns[2] * Vector3(-1, -1, 1))
        var qfac = 1.0
        if r.determinant < 0 {
            r.columns[2] = -r.columns[2]
            qfac = -1
        }
        let (r11, r12, r13) = (r[0, 0], r[0, 1], r[0, 2])
        let (r21, r22, r23) = (r[1, 0], r[1, 1], r[1, 2])
        let (r31, r32, r33) = (r[2, 0], r[2, 1], r[2, 2])
        var a = r11 + r22 + r33 + 1
        var b, c, d: Double
        if a > 0.5 {
            a = 0.5 * a.squareRoot()
            b = 0.25 * (r32 - r23) / a
            c = 0.25 * (r13 - r31) / a
            d = 0.25 * (r21 - r12) / a
        } else {
            let xd = 1 + r11 - (r22 + r33)
            let yd = 1 + r22 - (r11 + r33)
            let zd = 1 + r33 - (r11 + r22)
            if xd > 1 {
                b = 0.5 * xd.squareRoot(); c = 0.25 * (r12 + r21) / b; d = 0.25 * (r13 + r31) / b; a = 0.25 * (r32 - r23) / b
            } else if yd > 1 {
                c = 0.5 * yd.squareRoot(); b = 0.25 * (r12 + r21) / c; d = 0.25 * (r23 + r32) / c; a = 0.25 * (r13 - r31) / c
            } else {
                d = 0.5 * zd.squareRoot(); b = 0.25 * (r13 + r31) / d; c = 0.25 * (r23 + r32) / d; a = 0.25 * (r21 - r12) / d
            }
            if a < 0 { b = -b; c = -c; d = -d }
        }
        return (Vector3(b, c, d), qfac)
    }
}
