// Characterisation of found lesions: a window centred on each lesion, then the head on the
// features pooled inside it.

extension STDNetModel {
    /// Characterises lesions of a study, each on a window centred on its middle voxel.
    ///
    /// - parameters:
    ///   - phases: one normalised volume per phase slot (D, H, W order, W fastest), nil if missing.
    ///   - extent: the study's D, H, W.
    ///   - window: the window's D, H, W, multiples of ``ModelConfiguration/gridMultiple``.
    ///   - lesions: each lesion's linear voxel indices, ascending.
    /// - returns: per lesion, the class probabilities in the order of
    ///   ``ModelConfiguration/lesionClasses``; nil for a lesion with no voxel in its window.
    public func characteriseLesions(phases: [[Float]?], extent: [Int], window: [Int], lesions: [[Int]]) -> [[Double]?] {
        lesions.map { voxels in
            guard !voxels.isEmpty else { return nil }
            let centre = voxels[voxels.count / 2]
            let position = [centre / (extent[1] * extent[2]), (centre / extent[2]) % extent[1], centre % extent[2]]
            let origin = (0..<3).map { min(max(position[$0] - window[$0] / 2, 0), max(extent[$0] - window[$0], 0)) }
            let output = forward(phases.map { $0.map { crop($0, extent: extent, origin: origin, window: window) } })
            var mask = [Bool](repeating: false, count: window.reduce(1, *))
            for index in voxels {
                let d = index / (extent[1] * extent[2]) - origin[0]
                let h = (index / extent[2]) % extent[1] - origin[1]
                let w = index % extent[2] - origin[2]
                if (0..<window[0]).contains(d) && (0..<window[1]).contains(h) && (0..<window[2]).contains(w) {
                    mask[(d * window[1] + h) * window[2] + w] = true
                }
            }
            return mask.contains(true) ? characterise(output.fusedFeatures, mask: mask) : nil
        }
    }
}
