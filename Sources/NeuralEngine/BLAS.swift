// The single entry point to OpenBLAS matrix multiplication.
import COpenBLAS

/// Row-major C = α · op(A) · op(B) + β · C through `cblas_sgemm`.
///
/// OpenBLAS runs single-threaded here: the ops that call it parallelise over blocks themselves,
/// and OpenBLAS' own threads would oversubscribe the cores from inside those blocks. The first
/// call sets this for the whole process with `openblas_set_num_threads(1)`.
@inline(__always)
func sgemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    _ = singleThreadedBLAS
    cblas_sgemm(
        CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

private let singleThreadedBLAS: Void = openblas_set_num_threads(1)
