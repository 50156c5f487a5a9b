// Sub-voxel boundary points of a lesion mask, for diameters finer than the voxel grid.
import Foundation
import Imaging

/// A lesion's mask in a box around it, from which boundary points are found where the mask,
/// blurred by a small Gaussian, crosses one half between neighbouring voxel centres.
///
/// A binary mask only records which voxel centres are inside, so an edge taken from it alone may be
/// off by up to half a voxel. Blurring mixes in the neighbouring voxels, which sample the edge at
/// other positions, so on a smooth edge the half-way crossing lands within a fraction of a voxel
/// of the true one (a blur of 0.75 voxel moves a curved edge of radius R voxels inwards by
/// only about 0.28 / R voxel).
struct SubvoxelBoundary {
    /// Gaussian standard deviation in voxels, and the kernel's reach.
    static let sigma = 0.75
    static let radius = 2

    /// Grid index of the box's first voxel, and the box's size.
    private let corner: SIMD3<Int>
    private let extent: SIMD3<Int>
    private let mask: [Double]

    /// Builds the box around `voxels` (grid indices) with room for the blur on every side.
    init(_ voxels: [SIMD3<Int>]) {
        let margin = SIMD3(repeating: Self.radius + 1)
        var low = voxels[0]
        var high = voxels[0]
        for voxel in voxels {
            low = pointwiseMin(low, voxel)
            high = pointwiseMax(high, voxel)
        }
        corner = low &- margin
        extent = high &- low &+ margin &* 2 &+ 1
        var mask = [Double](repeating: 0, count: extent.x * extent.y * extent.z)
        for voxel in voxels {
            let local = voxel &- corner
            mask[local.x + extent.x * (local.y + extent.y * local.z)] = 1
        }
        self.mask = mask
    }

    /// Returns the boundary points, in continuous grid indices, of the mask blurred along `axes`
    /// (0 = i, 1 = j, 2 = k), taken on the grid edges along those axes.
    func points(blurringAxes axes: [Int]) -> [Vector3] {
        var field = mask
        for axis in axes { field = blurred(field, along: axis) }
        let strides = [1, extent.x, extent.x * extent.y]
        var points: [Vector3] = []
        for z in 0..<extent.z {
            for y in 0..<extent.y {
                for x in 0..<extent.x {
                    let index = x + extent.x * (y + extent.y * z)
                    let here = field[index] - 0.5
                    for axis in axes where SIMD3(x, y, z)[axis] + 1 < extent[axis] {
                        let next = field[index + strides[axis]] - 0.5
                        guard (here < 0) != (next < 0) else { continue }
                        var position = Vector3(Double(x + corner.x), Double(y + corner.y), Double(z + corner.z))
                        position[axis] += here / (here - next)
                        points.append(position)
                    }
                }
            }
        }
        return points
    }

    private func blurred(_ field: [Double], along axis: Int) -> [Double] {
        let weights = (-Self.radius...Self.radius).map { exp(-Double($0 * $0) / (2 * Self.sigma * Self.sigma)) }
        let total = weights.reduce(0, +)
        let stride = [1, extent.x, extent.x * extent.y][axis]
        var output = [Double](repeating: 0, count: field.count)
        for z in 0..<extent.z {
            for y in 0..<extent.y {
                for x in 0..<extent.x {
                    let position = SIMD3(x, y, z)[axis]
                    let index = x + extent.x * (y + extent.y * z)
                    var sum = 0.0
                    for (offset, weight) in zip(-Self.radius...Self.radius, weights) where (0..<extent[axis]).contains(position + offset) {
                        sum += weight * field[index + offset * stride]
                    }
                    output[index] = sum / total
                }
            }
        }
        return output
    }
}
