// Splits encapsulated pixel data into frames (PS3.5 A.4), using the Basic Offset Table when present.

extension EncapsulatedPixelData {
    /// Returns the bytes of each frame.
    ///
    /// With a Basic Offset Table, or else an Extended Offset Table (7FE0,0001) in `dataSet`, frame
    /// `n` is every fragment from offset `n` up to offset `n + 1`. Without either, a single frame
    /// is all fragments joined, and several frames need one fragment each. The exception is a
    /// `startsFrame` that recognises the fragment opening each codestream: then a frame is such a
    /// fragment and the fragments up to the next one.
    ///
    /// - throws: `DicomError` when the offsets and fragments disagree with the number of frames.
    func frames(count: Int, in dataSet: DataSet, offset: Int,
                startsFrame: ((ArraySlice<UInt8>) -> Bool)? = nil) throws -> [[UInt8]] {
        func fail(_ reason: String) -> DicomError {
            DicomError(file: dataSet.file, offset: offset, tag: .pixelData, reason)
        }
        guard !fragments.isEmpty else { throw fail("encapsulated pixel data has no fragments") }

        var offsets = basicOffsetTable.map { Int($0) }
        var table = "Basic Offset Table"
        if offsets.isEmpty, let extended = dataSet[.extendedOffsetTable] {
            offsets = extended.bytes.withUnsafeBytes { raw in
                (0..<(raw.count / 8)).map { Int(truncatingIfNeeded: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self))) }
            }
            table = "Extended Offset Table"
        }
        if !offsets.isEmpty {
            guard offsets.count == count else {
                throw fail("the \(table) has \(offsets.count) entries for \(count) frame(s)")
            }
            var frames: [[UInt8]] = []
            for (frame, start) in offsets.enumerated() {
                let end = frame + 1 < count ? offsets[frame + 1] : Int.max
                guard fragmentItemOffsets.contains(start) else {
                    throw fail("\(table) entry \(frame) (\(start)) does not point at a fragment")
                }
                var bytes: [UInt8] = []
                for (index, fragmentOffset) in fragmentItemOffsets.enumerated() where fragmentOffset >= start && fragmentOffset < end {
                    bytes.append(contentsOf: fragments[index])
                }
                frames.append(bytes)
            }
            return frames
        }
        if count == 1 {
            return [fragments.reduce(into: []) { $0.append(contentsOf: $1) }]
        }
        if fragments.count > count, let startsFrame, startsFrame(fragments[0]) {
            var frames: [[UInt8]] = []
            for fragment in fragments {
                if startsFrame(fragment) || frames.isEmpty {
                    frames.append(Array(fragment))
                } else {
                    frames[frames.count - 1].append(contentsOf: fragment)
                }
            }
            if frames.count == count { return frames }
            throw fail("\(fragments.count) fragments without a Basic or Extended Offset Table hold \(frames.count) codestream start(s) for \(count) frame(s)")
        }
        guard fragments.count == count else {
            throw fail("\(count) frames in \(fragments.count) fragments without a Basic or Extended Offset Table; cannot tell where frames start")
        }
        return fragments.map { Array($0) }
    }
}
