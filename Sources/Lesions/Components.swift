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
    public let voxels: [Int]

    public init(voxels: [Int]) { self.voxels = voxels }
}

/// Finds the lesions of a label map as 26-connected components of `label`, dropping those
/// smaller than `minimumVolumeMillilitres`, largest first.
public func connectedLesions(in labels: Volume<UInt8>, label: UInt8 = SegmentationLabel.lesion,
                             minimumVolumeMillilitres: Double = 0.01) -> [LesionComponent] {
    let size = labels.size
    let voxelMillilitres = labels.spacing.x * labels.spacing.y * labels.spacing.z / 1000
    var visited = [Bool](repeating: false, count: labels.voxels.count)
    var components: [LesionComponent] = []
    var stack: [Int] = []

    for seed in labels.voxels.indices where labels.voxels[seed] == label && !visited[seed] {
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
                        if !visited[neighbour] && labels.voxels[neighbour] == label {
                            visited[neighbour] = true
                            stack.append(neighbour)
                        }
                    }
                }
            }
        }
        if Double(members.count) * voxelMillilitres >= minimumVolumeMillilitres {
            components.append(LesionComponent(voxels: members.sorted()))
        }
    }
    return components.sorted { $0.voxels.count != $1.voxels.count ? $0.voxels.count > $1.voxels.count : $0.voxels[0] < $1.voxels[0] }
}
