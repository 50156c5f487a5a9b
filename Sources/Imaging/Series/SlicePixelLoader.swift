// Reads the pixels of ordered slices into one Float buffer, one file at a time, files in parallel.
import Dispatch
import MemoryPolicy
import Foundation

/// Loads slice pixels as physical values (stored value x Rescale Slope + Rescale Intercept).
enum SlicePixelLoader {
    /// Returns the pixels of `slices`, slice after slice, each `columns * rows` values, row by row.
    ///
    /// Each file is read and decoded once, however many of the slices it holds. Files are read
    /// on all cores; the output regions of different slices do not overlap.
    ///
    /// - throws: the first `DicomError` met, naming the file.
    static func load(_ slices: [ImageSlice]) throws -> [Float] {
        guard let first = slices.first else { return [] }
        let sliceLength = first.rows * first.columns
        var slicesByFile: [String: [(index: Int, slice: ImageSlice)]] = [:]
        for (index, slice) in slices.enumerated() {
            slicesByFile[slice.source.path, default: []].append((index, slice))
        }
        let files = Array(slicesByFile.values)
        let failure = FirstError()

        // Each slice index belongs to one file, so every value is written once unless an error is
        // thrown, and the buffer needs no zero fill first.
        let count = sliceLength * slices.count
        let output = [Float](unsafeUninitializedCapacity: count) { buffer, initializedCount in
            adviseHugePages(UnsafeMutableRawBufferPointer(buffer))
            let destination = SendableBuffer(buffer: buffer)
            DispatchQueue.concurrentPerform(iterations: files.count) { fileIndex in
                guard !failure.isSet else { return }
                do {
                    try loadFile(files[fileIndex], sliceLength: sliceLength, into: destination.buffer)
                } catch {
                    failure.record(error)
                }
            }
            initializedCount = count
        }
        if let error = failure.error { throw error }
        return output
    }

    private static func loadFile(_ entries: [(index: Int, slice: ImageSlice)], sliceLength: Int, into output: UnsafeMutableBufferPointer<Float>) throws {
        let path = entries[0].slice.source.path
        let pixels = try DicomFile(contentsOf: path).storedPixels()
        let description = pixels.description
        guard description.samplesPerPixel == 1 else {
            throw DicomError(file: path, tag: .samplesPerPixel, "\(description.samplesPerPixel) samples per pixel: only greyscale images form volumes")
        }
        var frameBuffer: [Float] = []
        for (index, slice) in entries {
            guard slice.source.frame < description.numberOfFrames else {
                throw DicomError(file: path, tag: .numberOfFrames, "frame \(slice.source.frame) requested, the file has \(description.numberOfFrames)")
            }
            let destination = UnsafeMutableBufferPointer(rebasing: output[(index * sliceLength)..<((index + 1) * sliceLength)])
            guard let tile = slice.source.mosaicTile else {
                pixels.convertFrame(slice.source.frame, slope: slice.rescaleSlope, intercept: slice.rescaleIntercept, into: destination)
                continue
            }
            // Mosaic: convert the whole frame once, then copy the tile's rows.
            if frameBuffer.isEmpty {
                frameBuffer = [Float](repeating: 0, count: description.samplesPerFrame)
                frameBuffer.withUnsafeMutableBufferPointer {
                    pixels.convertFrame(slice.source.frame, slope: slice.rescaleSlope, intercept: slice.rescaleIntercept, into: $0)
                }
            }
            let tilesPerRow = description.columns / slice.columns
            let tileRow = tile / tilesPerRow
            let tileColumn = tile % tilesPerRow
            for row in 0..<slice.rows {
                let source = (tileRow * slice.rows + row) * description.columns + tileColumn * slice.columns
                for column in 0..<slice.columns {
                    destination[row * slice.columns + column] = frameBuffer[source + column]
                }
            }
        }
    }
}

/// A buffer written from several threads at disjoint indices.
private struct SendableBuffer: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<Float>
}

/// The first error thrown by any of several concurrent tasks.
private final class FirstError: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Error?

    var isSet: Bool { lock.withLock { stored != nil } }
    var error: Error? { lock.withLock { stored } }

    func record(_ error: Error) {
        lock.withLock { if stored == nil { stored = error } }
    }
}
