// Reads files into byte arrays with POSIX calls, without the extra copy of going through Data.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file, or its first `maximumLength` bytes when given.
///
/// - returns: nil when the file cannot be opened or read. `errno` then gives the reason, and it
///   is 0 when the file was shorter than its size.
func readFileBytes(_ path: String, maximumLength: Int? = nil) -> [UInt8]? {
    errno = 0
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
    // An interrupted read was retried, so EINTR left in errno is no reason for a failure.
    if failed && errno == EINTR { errno = 0 }
    return failed ? nil : bytes
}

/// Returns why `readFileBytes` returned nil, from `errno`: the system's message, such as
/// "Permission denied" or "Is a directory".
func fileReadFailure() -> String {
    errno == 0 ? "the file is shorter than its size" : String(cString: strerror(errno))
}
