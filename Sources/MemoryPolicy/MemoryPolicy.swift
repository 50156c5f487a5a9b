// Allocation settings for large buffers. Volumes and network activations run to hundreds of
// megabytes, and the kernel must fault in and zero every fresh page of them.
#if canImport(Glibc)
import CMalloc
import Glibc
#endif

/// Asks Linux to back a large buffer with transparent huge pages, so filling it takes one page
/// fault per 2 MiB instead of one per 4 KiB. Call it before the buffer is first written. It is
/// only advice: where the kernel declines or the platform has no such call, nothing changes.
public func adviseHugePages(_ buffer: UnsafeMutableRawBufferPointer) {
    #if os(Linux)
    let hugePage = 2 << 20
    guard let base = buffer.baseAddress, buffer.count >= 2 * hugePage else { return }
    let start = (Int(bitPattern: base) + hugePage - 1) & ~(hugePage - 1)
    let end = (Int(bitPattern: base) + buffer.count) & ~(hugePage - 1)
    guard end > start, let pointer = UnsafeMutableRawPointer(bitPattern: start) else { return }
    _ = madvise(pointer, end - start, MADV_HUGEPAGE)
    #endif
}

/// Makes glibc's allocator keep freed memory in the process for the next allocation instead of
/// handing it back to the kernel. By default glibc maps every block over 32 MiB on its own and
/// unmaps it on free. A network pass that allocates the same activation sizes window after
/// window then pays for faulting in and zeroing them every time: a fifth of a window's time on
/// the development machine.
/// All threads share the main heap, because a thread's own arena is limited to 64 MiB and glibc
/// maps a larger block for it with mmap regardless of the settings above. A worker runs each job on a
/// thread of its own, and there a 268 MB buffer took 100 ms to allocate and fill instead of 11 ms.
/// The price is that the process keeps its peak heap until it exits, which suits a worker or a
/// benchmark that runs one model over and over. Call it once, at start-up, before any large
/// allocation; it does nothing where the allocator is not glibc's.
public func keepFreedMemoryForReuse() {
    #if os(Linux) && canImport(Glibc)
    _ = mallopt(M_MMAP_MAX, 0)
    _ = mallopt(M_TRIM_THRESHOLD, Int32.max)
    _ = mallopt(M_ARENA_MAX, 1)
    #endif
}
