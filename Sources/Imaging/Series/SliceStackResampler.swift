// Resamples an irregular stack of parallel slices (missing slices, non-uniform spacing, gantry
// tilt) onto the regular grid of its layout.

/// Interpolates ordered parallel slices onto a regular grid.
///
/// Target voxel (i, j, k) lies at distance `d0 + k * spacing` along the normal. Values are
/// interpolated linearly along the normal between the two slices that bracket that distance.
/// Within each slice they are interpolated bilinearly at the target's in-plane position, which a
/// gantry tilt shifts by a constant offset per slice, as in dcm2niix's tilt correction.
/// Points outside a slice take `padding`.
enum SliceStackResampler {
    static func resample(_ stack: [Float], layout: SliceStackLayout, padding: Float) -> [Float] {
        let geometry = layout.geometry
        let columns = geometry.size.x
        let rows = geometry.size.y
        let sliceLength = columns * rows
        let first = layout.slices[0]
        let dx = geometry.spacing.x
        let dy = geometry.spacing.y

        // In-plane offset of each slice's first pixel from the target grid, in pixels.
        let offsets = layout.slices.map { slice -> SIMD2<Double> in
            let shift = first.position - slice.position
            return SIMD2(dot(shift, first.rowDirection) / dx, dot(shift, first.columnDirection) / dy)
        }

        var output = [Float](repeating: padding, count: geometry.voxelCount)
        var lower = 0
        for k in 0..<geometry.size.z {
            let distance = layout.distances[0] + Double(k) * geometry.spacing.z
            while lower + 1 < layout.distances.count - 1 && layout.distances[lower + 1] <= distance { lower += 1 }
            let upper = min(lower + 1, layout.distances.count - 1)
            let span = layout.distances[upper] - layout.distances[lower]
            let weight = span > 0 ? min(max((distance - layout.distances[lower]) / span, 0), 1) : 0

            for j in 0..<rows {
                for i in 0..<columns {
                    let below = sample(stack, slice: lower, x: Double(i) + offsets[lower].x, y: Double(j) + offsets[lower].y,
                                       columns: columns, rows: rows)
                    let above = weight > 0
                        ? sample(stack, slice: upper, x: Double(i) + offsets[upper].x, y: Double(j) + offsets[upper].y, columns: columns, rows: rows)
                        : below
                    guard let below, let above else { continue }
                    output[k * sliceLength + j * columns + i] = Float(below * (1 - weight) + above * weight)
                }
            }
        }
        return output
    }

    /// Bilinear interpolation in one slice, or nil outside it.
    private static func sample(_ stack: [Float], slice: Int, x: Double, y: Double, columns: Int, rows: Int) -> Double? {
        // Positions carry about 6 decimals, so points a thousandth of a pixel outside count as inside.
        let epsilon = 1e-3
        guard x >= -epsilon, y >= -epsilon, x <= Double(columns - 1) + epsilon, y <= Double(rows - 1) + epsilon else { return nil }
        let x0 = min(max(Int(x.rounded(.down)), 0), columns - 1)
        let y0 = min(max(Int(y.rounded(.down)), 0), rows - 1)
        let x1 = min(x0 + 1, columns - 1)
        let y1 = min(y0 + 1, rows - 1)
        let fx = min(max(x - Double(x0), 0), 1)
        let fy = min(max(y - Double(y0), 0), 1)
        let base = slice * columns * rows
        let top = Double(stack[base + y0 * columns + x0]) * (1 - fx) + Double(stack[base + y0 * columns + x1]) * fx
        let bottom = Double(stack[base + y1 * columns + x0]) * (1 - fx) + Double(stack[base + y1 * columns + x1]) * fx
        return top * (1 - fy) + bottom * fy
    }
}
