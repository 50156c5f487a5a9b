// Intensity statistics of a lesion, its core and rim, and the ring of liver around it, per phase.
import Foundation
import Imaging

/// Mean and spread of the voxels of one region in one phase.
public struct RegionStatistics: Codable, Sendable, Equatable {
    public let mean: Double
    public let standardDeviation: Double
    public let voxelCount: Int

    init(_ values: [Float]) {
        voxelCount = values.count
        guard !values.isEmpty else {
            mean = .nan
            standardDeviation = .nan
            return
        }
        let average = values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
        let squares = values.reduce(0.0) { $0 + (Double($1) - average) * (Double($1) - average) }
        mean = average
        standardDeviation = (squares / Double(values.count)).squareRoot()
    }
}

/// The regions around one lesion in one phase.
public struct LesionRegionStatistics: Codable, Sendable, Equatable {
    /// The whole lesion.
    public let lesion: RegionStatistics
    /// Lesion voxels deeper than the rim width from the lesion's edge.
    public let core: RegionStatistics
    /// Lesion voxels within the rim width of its edge.
    public let rim: RegionStatistics
    /// Liver voxels outside the lesion within the ring width of it: the reference for enhancement.
    public let liverRing: RegionStatistics
}

/// Widths of the rim inside and the ring of liver outside a lesion, in mm.
public struct RegionWidths: Sendable {
    public var rimMillimetres: Double
    public var ringMillimetres: Double

    public init(rimMillimetres: Double = 2.5, ringMillimetres: Double = 6) {
        self.rimMillimetres = rimMillimetres
        self.ringMillimetres = ringMillimetres
    }
}

/// Computes the statistics of the lesion's regions in every phase given on the label map's grid.
public func regionStatistics(of lesion: LesionComponent, labels: Volume<UInt8>, phases: [Phase: Volume<Float>],
                             widths: RegionWidths = RegionWidths()) -> [Phase: LesionRegionStatistics] {
    let regions = LesionRegions(lesion: lesion, labels: labels, widths: widths)
    var statistics: [Phase: LesionRegionStatistics] = [:]
    for (phase, image) in phases {
        precondition(image.geometry.isSameGrid(as: labels.geometry), "phase \(phase.rawValue) is not on the label map's grid")
        statistics[phase] = LesionRegionStatistics(
            lesion: RegionStatistics(lesion.voxels.map { image.voxels[$0] }),
            core: RegionStatistics(regions.core.map { image.voxels[$0] }),
            rim: RegionStatistics(regions.rim.map { image.voxels[$0] }),
            liverRing: RegionStatistics(regions.liverRing.map { image.voxels[$0] }))
    }
    return statistics
}

/// Voxel sets of the rim, core and liver ring, from Euclidean distances in mm to the lesion edge.
struct LesionRegions {
    var core: [Int] = []
    var rim: [Int] = []
    var liverRing: [Int] = []

    init(lesion: LesionComponent, labels: Volume<UInt8>, widths: RegionWidths) {
        let size = labels.size
        let spacing = labels.spacing
        let members = Set(lesion.voxels)
        let reach = max(widths.rimMillimetres, widths.ringMillimetres)
        let radius = SIMD3<Int>(Int((reach / spacing.x).rounded(.up)), Int((reach / spacing.y).rounded(.up)), Int((reach / spacing.z).rounded(.up)))

        // Offsets within `reach` mm, with their length.
        var offsets: [(SIMD3<Int>, Double)] = []
        for dk in -radius.z...radius.z {
            for dj in -radius.y...radius.y {
                for di in -radius.x...radius.x {
                    let distance = (pow(Double(di) * spacing.x, 2) + pow(Double(dj) * spacing.y, 2) + pow(Double(dk) * spacing.z, 2)).squareRoot()
                    if distance <= reach && distance > 0 { offsets.append((SIMD3(di, dj, dk), distance)) }
                }
            }
        }

        // Distance from each voxel near the edge to the nearest voxel on the other side.
        var distanceInside: [Int: Double] = [:]
        var distanceOutside: [Int: Double] = [:]
        for linear in lesion.voxels {
            let index = SIMD3(linear % size.x, (linear / size.x) % size.y, linear / (size.x * size.y))
            for (offset, distance) in offsets {
                let target = index &+ offset
                guard target.x >= 0, target.y >= 0, target.z >= 0, target.x < size.x, target.y < size.y, target.z < size.z else { continue }
                let targetLinear = target.x + size.x * (target.y + size.y * target.z)
                if members.contains(targetLinear) { continue }
                // `linear` is inside, `target` outside: each is `distance` from the other side.
                distanceInside[linear] = min(distanceInside[linear] ?? .infinity, distance)
                distanceOutside[targetLinear] = min(distanceOutside[targetLinear] ?? .infinity, distance)
            }
        }

        for linear in lesion.voxels {
            if let distance = distanceInside[linear], distance <= widths.rimMillimetres {
                rim.append(linear)
            } else {
                core.append(linear)
            }
        }
        for (linear, distance) in distanceOutside where distance <= widths.ringMillimetres && labels.voxels[linear] == SegmentationLabel.liver {
            liverRing.append(linear)
        }
        liverRing.sort()
    }
}
