// Splits a series whose slices have several orientations or sizes (localizers, multi-plane
// scouts) into stacks that can each form a volume.

extension DicomSeries {
    /// Returns the series split into stacks of one orientation and size, the largest stack
    /// first. A series with one orientation and size is returned whole.
    public func stacksByOrientation() -> [DicomSeries] {
        var stacks: [(key: [Int], slices: [ImageSlice])] = []
        for slice in slices {
            // Direction cosines agree to 1e-4 within a stack, as SliceStackLayout requires.
            let key = [slice.rows, slice.columns]
                + [slice.rowDirection, slice.columnDirection].flatMap { [$0.x, $0.y, $0.z] }.map { Int(($0 * 1e4).rounded()) }
            if let index = stacks.firstIndex(where: { $0.key == key }) {
                stacks[index].slices.append(slice)
            } else {
                stacks.append((key, [slice]))
            }
        }
        return stacks.sorted { $0.slices.count > $1.slices.count }
            .map { DicomSeries(attributes: attributes, slices: $0.slices, inconsistency: inconsistency) }
    }
}
