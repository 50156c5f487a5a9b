import Foundation
import JobStore
import Testing
import TestSupport

/// Volumes stored as content-addressed blobs in chunks.
@Suite struct BlobTests {
    /// A slice of a larger buffer (its indices start past 0) spanning three chunks comes back
    /// whole and unchanged.
    @Test func sliceOverSeveralChunksRoundTrips() throws {
        let store = StudyStore(connection: try Connection(conninfo: try TestDatabase.makeMigratedDatabase()))
        let buffer = Data((0..<(2 * StudyStore.chunkSize + 1000 + 77)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let slice = buffer[77...]
        let sha = try store.storeBlob(slice, mediaType: "application/octet-stream")
        #expect(try store.readBlob(sha) == Data(slice))
        #expect(try store.readBlob(sha).count == 2 * StudyStore.chunkSize + 1000)
    }
}
