// Matrix products with fp32 operands against a right operand packed once (AVX-512F or AVX2 with FMA,
// fused multiply-add; the two give the same bits).
// The compiler fuses no multiply with an add on its own (intrinsics stay as written), whatever the flags.
#pragma STDC FP_CONTRACT OFF
#include "QuillKernels.h"
#include "tile_store.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define QUILL_X86 1
#else
#define QUILL_X86 0
#endif

// Only the functions marked with these attributes use AVX-512 or AVX2; they run after
// quill_avx512_supported() or quill_avx2_fma_supported().
#define QUILL_AVX512F __attribute__((target("avx512f")))
#define QUILL_AVX2_FMA __attribute__((target("avx2,fma")))

size_t quill_f32_packed_b_count(long n, long k) {
    return (size_t)((n + 15) / 16) * (size_t)k * 16;
}

void quill_f32_pack_b(const float *src, long rs, long cs, long n, long k, float *dst) {
    const long blocks = (n + 15) / 16;
    // Tiles of 16 columns by 64 depths keep both access patterns inside L1.
    for (long jb = 0; jb < blocks; jb++) {
        float *block = dst + jb * k * 16;
        for (long p0 = 0; p0 < k; p0 += 64) {
            const long p1 = p0 + 64 < k ? p0 + 64 : k;
            for (long jj = 0; jj < 16; jj++) {
                const long j = jb * 16 + jj;
                for (long p = p0; p < p1; p++) block[p * 16 + jj] = j < n ? src[j * rs + p * cs] : 0.0f;
            }
        }
    }
}

void quill_f32_gemm_portable(long m, long n, long k, const float *a, long lda, const float *b,
                             float beta, float *c, long ldc, long j0, long j1) {
    if (j1 > n) j1 = n;
    for (long i = 0; i < m; i++) {
        for (long j = j0; j < j1; j++) {
            const float *column = b + (j / 16) * k * 16 + (j % 16);
            float sum = 0.0f;
            for (long p = 0; p < k; p++) sum += a[i * lda + p] * column[p * 16];
            c[i * ldc + j] = beta != 0.0f ? sum + beta * c[i * ldc + j] : sum;
        }
    }
}

#if QUILL_X86
/// One register tile: MR rows by NV blocks of 16 columns, over the whole depth.
static inline __attribute__((always_inline)) QUILL_AVX512F void tile(
    const int MR, const int NV, long k, const float *a, long lda, const float *b,
    float beta, float *c, long ldc, long col, long n) {
    __m512 acc[8][4];
    for (int r = 0; r < MR; r++)
        for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_ps();
    for (long p = 0; p < k; p++) {
        __m512 bv[4];
        for (int v = 0; v < NV; v++) bv[v] = _mm512_loadu_ps(b + (v * k + p) * 16);
        for (int r = 0; r < MR; r++) {
            const __m512 av = _mm512_set1_ps(a[r * lda + p]);
            for (int v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
        }
    }
    for (int v = 0; v < NV; v++) {
        const long j = col + v * 16;
        for (int r = 0; r < MR; r++) quill_store_block(c + r * ldc + j, acc[r][v], n - j, beta);
    }
}

#define F32_TILE_CASES(MR) \
    switch (nv) { \
    case 1: tile(MR, 1, k, a, lda, b, beta, c, ldc, col, n); break; \
    case 2: tile(MR, 2, k, a, lda, b, beta, c, ldc, col, n); break; \
    case 3: tile(MR, 3, k, a, lda, b, beta, c, ldc, col, n); break; \
    default: tile(MR, 4, k, a, lda, b, beta, c, ldc, col, n); break; \
    }

static QUILL_AVX512F void tile_dispatch(int mr, int nv, long k, const float *a, long lda, const float *b,
                                        float beta, float *c, long ldc, long col, long n) {
    switch (mr) {
    case 1: F32_TILE_CASES(1) break;
    case 2: F32_TILE_CASES(2) break;
    case 3: F32_TILE_CASES(3) break;
    case 4: F32_TILE_CASES(4) break;
    default: if (nv > 3) nv = 3; F32_TILE_CASES(8) break;
    }
}

static QUILL_AVX512F void gemm_avx512(long m, long n, long k, const float *a, long lda, const float *b,
                                      float beta, float *c, long ldc, long j0, long j1) {
    // Fewer rows get wider tiles so that enough independent accumulators hide the latency.
    const int wide = m >= 8 ? 3 : 4;
    for (long col = j0; col < j1; col += 16 * wide) {
        const long blocksLeft = (j1 - col + 15) / 16;
        const int nv = blocksLeft < wide ? (int)blocksLeft : wide;
        const float *bcol = b + (col / 16) * k * 16;
        long i = 0;
        while (i < m) {
            const long rest = m - i;
            const int mr = rest >= 8 ? 8 : (rest >= 4 ? 4 : (rest >= 3 ? 3 : (rest >= 2 ? 2 : 1)));
            tile_dispatch(mr, nv, k, a + i * lda, lda, bcol, beta, c + i * ldc, ldc, col, j1);
            i += mr;
        }
    }
}

/// The lanes of an AVX2 mask whose first `left` (1 to 7) entries are set.
static inline __attribute__((always_inline)) QUILL_AVX2_FMA __m256i lanes_below(long left) {
    const __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)left), index);
}

// Stores 8 columns of a tile row: out[0..<min(left, 8)] = value + beta * out, the same operation as
// quill_store_block (one fused multiply-add when beta is not 0).
static inline __attribute__((always_inline)) QUILL_AVX2_FMA void store8(float *out, __m256 value, long left, float beta) {
    if (left <= 0) return;
    if (left >= 8) {
        if (beta != 0.0f) value = _mm256_fmadd_ps(_mm256_set1_ps(beta), _mm256_loadu_ps(out), value);
        _mm256_storeu_ps(out, value);
    } else {
        const __m256i mask = lanes_below(left);
        if (beta != 0.0f) value = _mm256_fmadd_ps(_mm256_set1_ps(beta), _mm256_maskload_ps(out, mask), value);
        _mm256_maskstore_ps(out, mask, value);
    }
}

/// One AVX2 register tile: MR rows by one packed block of 16 columns (two 8-wide halves), over the
/// whole depth. Each accumulator takes its products in depth order, one fused multiply-add each, as
/// the AVX-512 tile does, so both give the same bits.
static inline __attribute__((always_inline)) QUILL_AVX2_FMA void tile_avx2(
    const int MR, long k, const float *a, long lda, const float *b, float beta, float *c, long ldc, long col, long n) {
    __m256 lo[6], hi[6];
    for (int r = 0; r < MR; r++) { lo[r] = _mm256_setzero_ps(); hi[r] = _mm256_setzero_ps(); }
    for (long p = 0; p < k; p++) {
        const __m256 b0 = _mm256_loadu_ps(b + p * 16), b1 = _mm256_loadu_ps(b + p * 16 + 8);
        for (int r = 0; r < MR; r++) {
            const __m256 av = _mm256_broadcast_ss(a + r * lda + p);
            lo[r] = _mm256_fmadd_ps(av, b0, lo[r]);
            hi[r] = _mm256_fmadd_ps(av, b1, hi[r]);
        }
    }
    for (int r = 0; r < MR; r++) {
        store8(c + r * ldc + col, lo[r], n - col, beta);
        store8(c + r * ldc + col + 8, hi[r], n - col - 8, beta);
    }
}

static QUILL_AVX2_FMA void gemm_avx2(long m, long n, long k, const float *a, long lda, const float *b,
                                     float beta, float *c, long ldc, long j0, long j1) {
    (void)n;
    // Six rows by 16 columns: 12 accumulators, enough to hide the latency of two FMA pipes.
    for (long col = j0; col < j1; col += 16) {
        const float *bcol = b + (col / 16) * k * 16;
        long i = 0;
        while (i < m) {
            const long rest = m - i;
            const float *ai = a + i * lda;
            float *ci = c + i * ldc;
            switch (rest >= 6 ? 6 : rest) {
            case 6: tile_avx2(6, k, ai, lda, bcol, beta, ci, ldc, col, j1); i += 6; break;
            case 5: tile_avx2(5, k, ai, lda, bcol, beta, ci, ldc, col, j1); i += 5; break;
            case 4: tile_avx2(4, k, ai, lda, bcol, beta, ci, ldc, col, j1); i += 4; break;
            case 3: tile_avx2(3, k, ai, lda, bcol, beta, ci, ldc, col, j1); i += 3; break;
            case 2: tile_avx2(2, k, ai, lda, bcol, beta, ci, ldc, col, j1); i += 2; break;
            default: tile_avx2(1, k, ai, lda, bcol, beta, ci, ldc, col, j1); i += 1; break;
            }
        }
    }
}
#endif

void quill_f32_gemm(long m, long n, long k, const float *a, long lda, const float *b,
                    float beta, float *c, long ldc, long j0, long j1) {
    if (j1 > n) j1 = n;
#if QUILL_X86
    if (quill_avx512_supported()) { gemm_avx512(m, n, k, a, lda, b, beta, c, ldc, j0, j1); return; }
    if (quill_avx2_fma_supported()) { gemm_avx2(m, n, k, a, lda, b, beta, c, ldc, j0, j1); return; }
#endif
    quill_f32_gemm_portable(m, n, k, a, lda, b, beta, c, ldc, j0, j1);
}
