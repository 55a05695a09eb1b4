import _QuillKernels

/// The fp32 matrix kernel of `_QuillKernels` against a right operand packed once, seen as Swift types.
///
/// `gemm` computes `C[m, n] = A[m, k] B[n, k]^T + beta * C` where `B` is a `PackedFloat32` (a weight,
/// packed when it changes) and `A` plain row-major fp32. Unlike `BLAS.gemm`, nothing is repacked per call,
/// which is what makes the per-step recurrent product of a small batch cheap.
@usableFromInline
enum Float32Kernels {
    /// Whether the CPU runs AVX-512F, or AVX2 with FMA (the same bits); without either the portable
    /// loop runs, slower than OpenBLAS.
    static let isAvailable: Bool = quill_avx512_supported() != 0 || quill_avx2_fma_supported() != 0

    /// Whether the AVX-512F path runs (the machine the golden files were recorded on had it).
    static let usesAVX512: Bool = quill_avx512_supported() != 0

    /// `C[i, j] = sum_p A[i * lda + p] B(j, p) + beta * C[i, j]` for `i < m` and `j` in `columns` (default all `n`).
    ///
    /// `columns.lowerBound` must be a multiple of 16. With `portable`, the plain C loop runs whatever the CPU.
    @inline(__always)
    static func gemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: PackedFloat32, beta: Float,
                     c: UnsafeMutablePointer<Float>, ldc: Int, columns: Range<Int>? = nil, portable: Bool = false) {
        precondition(b.columns == n && b.depth == k, "packed right operand shape mismatch")
        let range = columns ?? 0..<n
        precondition(range.lowerBound % 16 == 0 && range.lowerBound >= 0 && range.upperBound <= n, "bad column range")
        if portable {
            quill_f32_gemm_portable(m, n, k, a, lda, b.pointer, beta, c, ldc, range.lowerBound, range.upperBound)
        } else {
            quill_f32_gemm(m, n, k, a, lda, b.pointer, beta, c, ldc, range.lowerBound, range.upperBound)
        }
    }
}

/// An owned, 64-byte aligned fp32 right operand of `columns` outputs and depth `depth` in the kernel's panels.
///
/// - pointer: column blocks of 16, each `[depth][16]`, the columns past `columns` zero.
@usableFromInline
final class PackedFloat32: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int
    let columns: Int
    let depth: Int

    /// Room for the right operand of `n` output columns and depth `k`.
    init(right n: Int, k: Int) {
        columns = n
        depth = k
        count = quill_f32_packed_b_count(n, k)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 16) * 4, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 16))
        pointer.initialize(repeating: 0, count: max(count, 16))
    }

    deinit { pointer.deallocate() }

    /// Copies `B(j, p) = source[j * rowStride + p * columnStride]` (`j < columns`, `p < depth`) into the panels.
    func pack(_ source: UnsafePointer<Float>, rowStride: Int, columnStride: Int) {
        quill_f32_pack_b(source, rowStride, columnStride, columns, depth, pointer)
    }
}
