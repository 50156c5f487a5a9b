// Lesions as connected components of a label map.
import Imaging

/// Values of the segmentation label maps the network produces.
public enum SegmentationLabel {
    public static let background: UInt8 = 0
    public static let liver: UInt8 = 1
    public static let lesion: UInt8 = 2
}

/// One connected lesion: the linear indices of its voxels, in ascending order.
public struct LesionComponent: Sendable, Equatable {
    /// The smallest lesion the analysis reports, in mL (about two voxels at 3 x 3 x 5 mm);
    /// smaller components are taken for noise.
    public static let minimumReportedMillilitres = 0.05

    public let voxels: [Int]

    public init(voxels: [Int]) { self.voxels = voxels }
}

/// Finds the lesions of a label map as 26-connected components of `label`, dropping those
/// smaller than `minimumVolumeMillilitres`, largest first.
public func connectedLesions(in labels: Volume<UInt8>, label: UInt8 = SegmentationLabel.lesion,
                             minimumVolumeMillilitres: Double = 0.01) -> [LesionComponent] {
    let voxelMillilitres = labels.spacing.x * labels.spacing.y * labels.spacing.z / 1000
    return connectedComponents(size: labels.size) { labels.voxels[$0] == label }
        .filter { Double($0.count) * voxelMillilitres >= minimumVolumeMillilitres }
        .map { LesionComponent(voxels: $0) }
}

/// Returns the 26-connected components of the voxels for which `isMember` is true. Each is a
/// list of linear indices (i fastest) in ascending order. The largest component comes first,
/// and components of equal size are ordered by their first voxel.
public func connectedComponents(size: VolumeSize, where isMember: (Int) -> Bool) -> [[Int]] {
    let voxelCount = size.x * size.y * size.z
    var visited = [Bool](repeating: false, count: voxelCount)
    var components: [[Int]] = []
    var stack: [Int] = []

    for seed in 0..<voxelCount where !visited[seed] && isMember(seed) {
        var members: [Int] = []
        visited[seed] = true
        stack.append(seed)
        while let index = stack.popLast() {
            members.append(index)
            let i = index % size.x
            let j = (index / size.x) % size.y
            let k = index / (size.x * size.y)
            for dk in -1...1 where k + dk >= 0 && k + dk < size.z {
                for dj in -1...1 where j + dj >= 0 && j + dj < size.y {
                    for di in -1...1 where i + di >= 0 && i + di < size.x {
                        let neighbour = (i + di) + size.x * ((j + dj) + size.y * (k + dk))
                        if !visited[neighbour] && isMember(neighbour) {
                            visited[neighbour] = true
                            stack.append(neighbour)
                        }
                    }
                }
            }
        }
        components.append(members.sorted())
    }
    return components.sorted { $0.count != $1.count ? $0.count > $1.count : $0[0] < $1[0] }
}
