// Splits encapsulated pixel data into frames (PS3.5 A.4), using the Basic Offset Table when present.

extension EncapsulatedPixelData {
    /// Returns the bytes of each frame.
    ///
    /// With a Basic Offset Table, frame `n` is every fragment from offset `n` up to offset `n + 1`.
    /// Without one, a single frame is all fragments joined, and several frames need one fragment each.
    ///
    /// NOTE: the Extended Offset Table (7FE0,0001) is not read, so several frames of several
    /// fragments each need a Basic Offset Table.
    ///
    /// - throws: `DicomError` when the offsets and fragments disagree with the number of frames.
    func frames(count: Int, file: String, offset: Int) throws -> [[UInt8]] {
        func fail(_ reason: String) -> DicomError {
            DicomError(file: file, offset: offset, tag: .pixelData, reason)
        }
        guard !fragments.isEmpty else { throw fail("encapsulated pixel data has no fragments") }

        if !basicOffsetTable.isEmpty {
            guard basicOffsetTable.count == count else {
                throw fail("the Basic Offset Table has \(basicOffsetTable.count) entries for \(count) frame(s)")
            }
            var frames: [[UInt8]] = []
            for (frame, start) in basicOffsetTable.enumerated() {
                let end = frame + 1 < count ? Int(basicOffsetTable[frame + 1]) : Int.max
                guard fragmentItemOffsets.contains(Int(start)) else {
                    throw fail("Basic Offset Table entry \(frame) (\(start)) does not point at a fragment")
                }
                var bytes: [UInt8] = []
                for (index, fragmentOffset) in fragmentItemOffsets.enumerated() where fragmentOffset >= Int(start) && fragmentOffset < end {
                    bytes.append(contentsOf: fragments[index])
                }
                frames.append(bytes)
            }
            return frames
        }
        if count == 1 {
            return [fragments.reduce(into: []) { $0.append(contentsOf: $1) }]
        }
        guard fragments.count == count else {
            throw fail("\(count) frames in \(fragments.count) fragments without a Basic Offset Table; cannot tell where frames start")
        }
        return fragments.map { Array($0) }
    }
}
