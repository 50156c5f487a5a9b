// Reads files into byte arrays with POSIX calls, without the extra copy of going through Data.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file, or its first `maximumLength` bytes when given.
///
/// - returns: nil when the file cannot be opened or read.
func readFileBytes(_ path: String, maximumLength: Int? = nil) -> [UInt8]? {
    let descriptor = open(path, O_RDONLY)
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    var status = stat()
    guard fstat(descriptor, &status) == 0 else { return nil }
    let size = min(Int(status.st_size), maximumLength ?? Int.max)
    var failed = false
    let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
        var total = 0
        while total < size {
            let result = read(descriptor, buffer.baseAddress! + total, size - total)
            if result < 0 && errno == EINTR { continue }
            if result <= 0 { break }
            total += result
        }
        failed = total < size
        count = total
    }
    return failed ? nil : bytes
}

/// Asks Linux to back a large buffer with transparent huge pages, so filling a volume takes one
/// page fault per 2 MiB instead of one per 4 KiB. It is only advice: where the kernel declines
/// or the platform has no such call, nothing changes.
func adviseHugePages(_ buffer: UnsafeMutableRawBufferPointer) {
    #if os(Linux)
    let hugePage = 2 << 20
    guard let base = buffer.baseAddress, buffer.count >= 2 * hugePage else { return }
    let start = (Int(bitPattern: base) + hugePage - 1) & ~(hugePage - 1)
    let end = (Int(bitPattern: base) + buffer.count) & ~(hugePage - 1)
    guard end > start, let pointer = UnsafeMutableRawPointer(bitPattern: start) else { return }
    _ = madvise(pointer, end - start, MADV_HUGEPAGE)
    #endif
}
