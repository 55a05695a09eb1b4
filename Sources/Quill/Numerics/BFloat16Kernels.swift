import _QuillKernels

/// The bfloat16 matrix kernels of `_QuillKernels` (AVX-512 BF16), seen as Swift types.
///
/// Both operands of a product are rounded to bfloat16 (round to nearest even) when packed;
/// products and sums are in fp32. `gemm` computes `C[m, n] = A[m, k] B[n, k]^T + beta * C`
/// where `B` is packed once (a weight) and `A` per call.
@usableFromInline
enum BFloat16Kernels {
    /// Whether the CPU runs AVX-512 BF16.
    static let isAvailable: Bool = quill_bf16_supported() != 0

    /// Packs `A(i, p) = source[i * rowStride + p * columnStride]` for `i < m`, `p < k`.
    @inline(__always)
    static func packLeft(_ source: UnsafePointer<Float>, rowStride: Int, columnStride: Int,
                         m: Int, k: Int, into destination: PackedBFloat16) {
        precondition(quill_bf16_packed_a_count(m, k) <= destination.count, "packed left operand too small")
        quill_bf16_pack_a(source, rowStride, columnStride, m, k, destination.pointer)
    }

    /// `C[i, j] = sum_p A(i, p) B(j, p) + beta * C[i, j]` for `i < m` and `j` in `columns` (default all `n`).
    ///
    /// `a` is packed by `packLeft`, or by `packRight` (as `m` columns) when `aBlocked`.
    /// `columns.lowerBound` must be a multiple of 16.
    @inline(__always)
    static func gemm(m: Int, n: Int, k: Int, a: PackedBFloat16, aBlocked: Bool = false, b: PackedBFloat16, beta: Float,
                     c: UnsafeMutablePointer<Float>, ldc: Int, columns: Range<Int>? = nil) {
        let range = columns ?? 0..<n
        quill_bf16_gemm(m, n, k, a.pointer, aBlocked ? 1 : 0, b.pointer, beta, c, ldc, range.lowerBound, range.upperBound)
    }
}

extension BFloat16Kernels {
    /// `gemm` over all columns, shared with a helper thread; the same bits as `gemm`.
    ///
    /// For latency-bound single-lane steps. The caller never waits for work the helper has not
    /// started and runs alone for a while when the helper could not keep up (its core busy); the
    /// helper spins briefly between calls, then sleeps.
    @inline(__always)
    static func gemmPair(m: Int, n: Int, k: Int, a: PackedBFloat16, b: PackedBFloat16, beta: Float,
                         c: UnsafeMutablePointer<Float>, ldc: Int) {
        quill_bf16_gemm_pair(m, n, k, a.pointer, 0, b.pointer, beta, c, ldc)
    }

    /// A test seam: while true the helper thread takes no work, as if another process kept its core busy.
    static func pauseHelperForTesting(_ paused: Bool) {
        quill_bf16_set_helper_paused(paused ? 1 : 0)
    }
}

/// An owned, 64-byte aligned buffer of bfloat16 values in one of the kernels' packed layouts.
@usableFromInline
final class PackedBFloat16: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<UInt16>
    let count: Int

    /// Room for `count` bfloat16 values.
    init(count: Int) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 32) * 2, alignment: 64)
        pointer = raw.bindMemory(to: UInt16.self, capacity: max(count, 32))
        pointer.initialize(repeating: 0, count: max(count, 32))
    }

    /// Elements of a packed left operand of `m` rows and depth `k`.
    static func leftCount(m: Int, k: Int) -> Int { quill_bf16_packed_a_count(m, k) }

    /// Elements of a packed right operand of `n` columns and depth `k`.
    static func rightCount(n: Int, k: Int) -> Int { quill_bf16_packed_b_count(n, k) }

    /// Room for the left operand of `m` rows and depth `k`.
    convenience init(left m: Int, k: Int) { self.init(count: quill_bf16_packed_a_count(m, k)) }

    /// Room for the right operand of `n` output columns and depth `k`.
    convenience init(right n: Int, k: Int) { self.init(count: quill_bf16_packed_b_count(n, k)) }

    deinit { pointer.deallocate() }

    /// Packs `B(j, p) = source[j * rowStride + p * columnStride]` (`j < n`, `p < k`) as a right operand.
    func packRight(_ source: UnsafePointer<Float>, rowStride: Int, columnStride: Int, n: Int, k: Int) {
        precondition(quill_bf16_packed_b_count(n, k) <= count, "packed right operand too small")
        quill_bf16_pack_b(source, rowStride, columnStride, n, k, pointer)
    }
}
