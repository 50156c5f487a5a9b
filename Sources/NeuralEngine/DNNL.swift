// Thin helpers over the oneDNN 2.x C API: one CPU engine, memory descriptors from Swift shapes,
// a primitive runner, and primitives bound once to fixed buffers. The convolution ops and the
// temporal kernel build on these.
import CDNNL

/// The process-wide oneDNN CPU engine. oneDNN engines are thread-safe; streams are made per call.
final class DNNLEngine: @unchecked Sendable {
    static let shared = DNNLEngine()

    let engine: dnnl_engine_t

    private init() {
        var engine: dnnl_engine_t?
        checkDNNL(dnnl_engine_create(&engine, dnnl_cpu, 0), "create the CPU engine")
        self.engine = engine!
    }
}

/// Stops the process with the failing call's name: oneDNN reports errors here only for invalid
/// descriptors (a bug in this module) or failed allocations.
@inline(__always)
func checkDNNL(_ status: dnnl_status_t, _ action: @autoclosure () -> String) {
    if status != dnnl_success {
        fatalError("oneDNN failed to \(action()): status \(status.rawValue)")
    }
}

/// Converts a Swift shape into the contents of oneDNN's fixed-size `dnnl_dims_t`.
///
/// An array converts to the `const int64_t *` parameters safely, whereas `&tuple.0` may point
/// at a temporary copy of one element.
func dnnlDimensions(_ values: [Int]) -> [Int64] {
    precondition(values.count <= Int(DNNL_MAX_NDIMS), "oneDNN supports at most \(DNNL_MAX_NDIMS) dimensions")
    return values.map { Int64($0) } + [Int64](repeating: 0, count: Int(DNNL_MAX_NDIMS) - values.count)
}

/// Creates a Float32 memory descriptor with logical dimensions `dimensions` and layout `tag`.
func dnnlMemoryDescriptor(_ dimensions: [Int], _ tag: dnnl_format_tag_t) -> dnnl_memory_desc_t {
    var descriptor = dnnl_memory_desc_t()
    checkDNNL(
        dnnl_memory_desc_init_by_tag(&descriptor, Int32(dimensions.count), dnnlDimensions(dimensions), dnnl_f32, tag),
        "describe memory \(dimensions)")
    return descriptor
}

/// An owned primitive descriptor.
final class DNNLPrimitiveDescriptor {
    let handle: dnnl_primitive_desc_t

    /// Creates the descriptor for an op descriptor such as a `dnnl_convolution_desc_t`.
    init<OpDescriptor>(_ opDescriptor: inout OpDescriptor, hint: DNNLPrimitiveDescriptor? = nil) {
        var handle: dnnl_primitive_desc_t?
        withUnsafePointer(to: &opDescriptor) { pointer in
            checkDNNL(
                dnnl_primitive_desc_create(
                    &handle, UnsafeRawPointer(pointer), nil, DNNLEngine.shared.engine, hint?.handle),
                "create a primitive descriptor")
        }
        self.handle = handle!
    }

    /// Creates a reorder between two layouts of the same logical tensor.
    init(reorderFrom source: dnnl_memory_desc_t, to destination: dnnl_memory_desc_t) {
        var handle: dnnl_primitive_desc_t?
        var source = source
        var destination = destination
        let engine = DNNLEngine.shared.engine
        checkDNNL(
            dnnl_reorder_primitive_desc_create(&handle, &source, engine, &destination, engine, nil),
            "create a reorder")
        self.handle = handle!
    }

    /// Returns the memory descriptor the primitive chose for a `dnnl_query_*_md` query.
    func memoryDescriptor(_ query: dnnl_query_t) -> dnnl_memory_desc_t {
        dnnl_primitive_desc_query_md(handle, query, 0).pointee
    }

    /// Creates the primitive and runs it once on `arguments`, waiting for completion.
    ///
    /// oneDNN keeps a cache of compiled primitives keyed by descriptor, so creating the primitive
    /// again for a shape seen before does not recompile it.
    func execute(_ arguments: [(Int32, DNNLMemory)]) {
        var primitive: dnnl_primitive_t?
        checkDNNL(dnnl_primitive_create(&primitive, handle), "create a primitive")
        defer { dnnl_primitive_destroy(primitive) }
        var stream: dnnl_stream_t?
        checkDNNL(dnnl_stream_create(&stream, DNNLEngine.shared.engine, UInt32(dnnl_stream_default_flags.rawValue)), "create a stream")
        defer { dnnl_stream_destroy(stream) }
        let executionArguments = arguments.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1.handle) }
        checkDNNL(
            dnnl_primitive_execute(primitive, stream, Int32(executionArguments.count), executionArguments),
            "execute a primitive")
        checkDNNL(dnnl_stream_wait(stream), "wait for a stream")
    }

    deinit {
        dnnl_primitive_desc_destroy(handle)
    }
}

/// A oneDNN memory object over a buffer owned by the caller, which must outlive every use.
final class DNNLMemory {
    let handle: dnnl_memory_t
    let descriptor: dnnl_memory_desc_t

    init(_ descriptor: dnnl_memory_desc_t, _ pointer: UnsafeMutableRawPointer) {
        var handle: dnnl_memory_t?
        var descriptor = descriptor
        checkDNNL(dnnl_memory_create(&handle, &descriptor, DNNLEngine.shared.engine, pointer), "create memory")
        self.handle = handle!
        self.descriptor = descriptor
    }

    deinit {
        dnnl_memory_destroy(handle)
    }
}

/// Returns true when two descriptors describe the same layout.
func dnnlSameLayout(_ a: dnnl_memory_desc_t, _ b: dnnl_memory_desc_t) -> Bool {
    var a = a
    var b = b
    return dnnl_memory_desc_equal(&a, &b) != 0
}

/// Returns the number of Float32 elements a descriptor's buffer needs, padding included.
func dnnlElementCount(_ descriptor: dnnl_memory_desc_t) -> Int {
    var descriptor = descriptor
    return dnnl_memory_desc_get_size(&descriptor) / MemoryLayout<Float>.stride
}

/// Copies `source` in layout `sourceDescriptor` into `destination` in `destinationDescriptor`.
func dnnlReorder(
    from source: UnsafeMutableRawPointer, _ sourceDescriptor: dnnl_memory_desc_t,
    to destination: UnsafeMutableRawPointer, _ destinationDescriptor: dnnl_memory_desc_t
) {
    let reorder = DNNLPrimitiveDescriptor(reorderFrom: sourceDescriptor, to: destinationDescriptor)
    reorder.execute([
        (DNNL_ARG_FROM, DNNLMemory(sourceDescriptor, source)),
        (DNNL_ARG_TO, DNNLMemory(destinationDescriptor, destination)),
    ])
}

/// A primitive created once and bound to fixed buffers, for a loop that runs it thousands of times.
///
/// `DNNLPrimitiveDescriptor.execute` costs a cache lookup, a primitive, a stream and memory
/// objects per call, which a kernel over blocks of a few hundred rows cannot afford. An instance
/// runs on one OpenMP thread, like `sgemm`, and must stay on one thread at a time because its
/// stream does.
final class DNNLBoundPrimitive {
    private let primitive: dnnl_primitive_t
    private let stream: dnnl_stream_t
    /// Owners of the memory handles in `arguments`, which must live as long as they do.
    private let memories: [DNNLMemory]
    private let arguments: [dnnl_exec_arg_t]

    init(_ descriptor: DNNLPrimitiveDescriptor, arguments: [(Int32, DNNLMemory)]) {
        var primitive: dnnl_primitive_t?
        checkDNNL(dnnl_primitive_create(&primitive, descriptor.handle), "create a primitive")
        var stream: dnnl_stream_t?
        checkDNNL(dnnl_stream_create(&stream, DNNLEngine.shared.engine, UInt32(dnnl_stream_default_flags.rawValue)), "create a stream")
        self.primitive = primitive!
        self.stream = stream!
        memories = arguments.map(\.1)
        self.arguments = arguments.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1.handle) }
    }

    /// Runs the primitive on its buffers and waits for it.
    func run() {
        onOneOpenMPThread {
            checkDNNL(dnnl_primitive_execute(primitive, stream, Int32(arguments.count), arguments), "execute a bound primitive")
            checkDNNL(dnnl_stream_wait(stream), "wait for a stream")
        }
    }

    deinit {
        dnnl_stream_destroy(stream)
        dnnl_primitive_destroy(primitive)
    }
}

/// Runs `body` with the calling thread's OpenMP setting lowered to one thread, then restores it.
///
/// oneDNN's sgemm and primitives use as many threads as that per-thread setting allows. Callers
/// that already split their work over the cores use this so as not to oversubscribe them.
@inline(__always)
func onOneOpenMPThread<Result>(_ body: () -> Result) -> Result {
    _ = oneDNNRunsOnOpenMP
    let threads = omp_get_max_threads()
    omp_set_num_threads(1)
    defer { omp_set_num_threads(threads) }
    return body()
}

/// Checks once that this oneDNN build threads with OpenMP: with TBB or a thread pool, lowering the
/// OpenMP setting would not keep a call on one thread.
private let oneDNNRunsOnOpenMP: Void = {
    let runtime = dnnl_version().pointee.cpu_runtime
    precondition(runtime == UInt32(DNNL_RUNTIME_OMP), "oneDNN was built with CPU runtime \(runtime), not OpenMP (\(DNNL_RUNTIME_OMP)); stdnet needs Debian's libdnnl, which uses OpenMP")
}()
