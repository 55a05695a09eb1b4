import CBLAS
import _QuillKernels

/// Typed wrappers over the few OpenBLAS routines Quill uses; the only file that calls CBLAS.
///
/// Every matrix is row-major. `gemm` computes `C = alpha * op(A) * op(B) + beta * C`
/// where `op(X)` is `X` or its transpose.
public enum BLAS {
    /// Row-major single-precision matrix product `C[m, n] = alpha * op(A)[m, k] * op(B)[k, n] + beta * C`.
    ///
    /// - Parameters:
    ///   - transposeA: whether `A` is stored as `[k, m]` (leading dimension `lda` >= m) instead of `[m, k]`.
    ///   - transposeB: whether `B` is stored as `[n, k]` (leading dimension `ldb` >= k) instead of `[k, n]`.
    @inlinable
    public static func gemm(
        transposeA: Bool, transposeB: Bool,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        cblas_sgemm(
            CblasRowMajor,
            transposeA ? CblasTrans : CblasNoTrans,
            transposeB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k),
            alpha, a, blasint(lda), b, blasint(ldb),
            beta, c, blasint(ldc))
    }

    /// Row-major matrix-vector product `y = alpha * op(A) x + beta * y` with `A` stored as `[rows, columns]`.
    ///
    /// - Parameter transpose: whether to use `A^T` (then `x` has `rows` elements and `y` has `columns`).
    @inlinable
    public static func gemv(
        transpose: Bool, rows: Int, columns: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        x: UnsafePointer<Float>, beta: Float,
        y: UnsafeMutablePointer<Float>
    ) {
        if rows == 0 || columns == 0 { return }
        cblas_sgemv(
            CblasRowMajor, transpose ? CblasTrans : CblasNoTrans,
            blasint(rows), blasint(columns), alpha, a, blasint(lda),
            x, 1, beta, y, 1)
    }

    /// The number of threads OpenBLAS uses for each product.
    public static var threadCount: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// The kernels OpenBLAS runs, as it names them ("SkylakeX", "Haswell"); nil when the BLAS
    /// linked does not say.
    public static var core: String? { quill_blas_core().map { String(cString: $0) } }

    /// A sentence when Quill replaced OpenBLAS's choice of kernels at load time, nil when it stood.
    ///
    /// OpenBLAS versions before about 0.3.22 take a CPU model newer than themselves for a
    /// plain SSE3 one ("Prescott"), which runs float32 products at a third of the speed of the
    /// AVX-512 kernels the same library carries; Quill then forces the best core the CPU runs
    /// (`blas_core.c`). `OPENBLAS_CORETYPE`, when set, is left to decide.
    public static var coreNote: String? {
        guard let replaced = quill_blas_replaced_core().map({ String(cString: $0) }), let core else { return nil }
        return "OpenBLAS took this CPU for an unknown model and chose its SSE3 kernels (\(replaced)); Quill set its \(core) kernels instead (OPENBLAS_CORETYPE, when set, decides)"
    }
}
