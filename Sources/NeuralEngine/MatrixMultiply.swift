// The single entry point to matrix multiplication: oneDNN's sgemm.
import CDNNL

/// Row-major C = α · op(A) · op(B) + β · C through `dnnl_sgemm`, on the calling thread alone.
///
/// The ops that call it parallelise over blocks themselves, and a second level of threads would
/// oversubscribe the cores. So the call runs inside `onOneOpenMPThread`.
///
/// oneDNN rather than OpenBLAS: on the temporal module's shapes (a few hundred rows, 16-384
/// columns, depth 16-256) it ran 1.2-2.4 times faster than OpenBLAS' Skylake-X kernels on one
/// thread, in the NT pattern of the MLP's projections. It also picks its kernels from the CPU's instruction sets, while OpenBLAS 0.3.21 fell
/// back to its generic Prescott kernels on a CPU model it did not know (Docs/benchmarks.md).
@inline(__always)
func sgemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    let status = onOneOpenMPThread {
        dnnl_sgemm(
            transposeFlag(transposeA), transposeFlag(transposeB), Int64(m), Int64(n), Int64(k),
            alpha, a, Int64(lda), b, Int64(ldb), beta, c, Int64(ldc))
    }
    precondition(status == dnnl_success, "dnnl_sgemm failed (status \(status.rawValue)) for m \(m), n \(n), k \(k)")
}

/// oneDNN's transposition flag: "T" for op(X) = Xᵀ, "N" for op(X) = X.
@inline(__always)
private func transposeFlag(_ transposed: Bool) -> CChar {
    CChar(UInt8(ascii: transposed ? "T" : "N"))
}
