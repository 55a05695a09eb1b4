// Matrix products with bfloat16 operands and fp32 accumulation (AVX-512 BF16, VDPBF16PS).
// The compiler fuses no multiply with an add on its own (intrinsics stay as written), whatever the flags.
#pragma STDC FP_CONTRACT OFF
#include "QuillKernels.h"
#include "tile_store.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define QUILL_X86 1
#else
#define QUILL_X86 0
#endif

// Only the functions marked with this attribute use AVX-512; callers check quill_bf16_supported() first.
#define QUILL_AVX512_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

/// Round to nearest even (NaN payloads are not preserved; the engines never feed NaN on purpose).
static inline uint16_t to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    u += 0x7FFFu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

size_t quill_bf16_packed_b_count(long n, long k) {
    return (size_t)((n + 15) / 16) * (size_t)((k + 1) / 2) * 32;
}

size_t quill_bf16_packed_a_count(long m, long k) {
    return (size_t)m * (size_t)((k + 1) / 2) * 2;
}

#if QUILL_X86
/// Interleaves rows p, p+1 of a row-major source (B(j, p) = src[j + p * cs]) into 32-value vectors.
static QUILL_AVX512_BF16 void pack_b_columns(const float *src, long cs, long n, long k, uint16_t *dst) {
    const long k2 = (k + 1) / 2, blocks = (n + 15) / 16;
    const __m512i order = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                           23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    for (long jb = 0; jb < blocks; jb++) {
        const long left = n - jb * 16;
        const __mmask16 mask = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
        uint16_t *block = dst + jb * k2 * 32;
        for (long p2 = 0; p2 < k2; p2++) {
            const float *row = src + jb * 16 + 2 * p2 * cs;
            const __m512 even = _mm512_maskz_loadu_ps(mask, row);
            const __m512 odd = 2 * p2 + 1 < k ? _mm512_maskz_loadu_ps(mask, row + cs) : _mm512_setzero_ps();
            const __m512i both = (__m512i)_mm512_cvtne2ps_pbh(odd, even);
            _mm512_storeu_si512(block + p2 * 32, _mm512_permutexvar_epi16(order, both));
        }
    }
}

/// Packs a source whose depth is contiguous (B(j, p) = src[j * rs + p]): 32 depths of a row at a time.
static QUILL_AVX512_BF16 void pack_b_rows(const float *src, long rs, long n, long k, uint16_t *dst) {
    const long k2 = (k + 1) / 2, blocks = (n + 15) / 16;
    uint32_t pairs[16];
    for (long jb = 0; jb < blocks; jb++) {
        uint32_t *block = (uint32_t *)(dst + jb * k2 * 32);
        for (long jj = 0; jj < 16; jj++) {
            const long j = jb * 16 + jj;
            for (long p0 = 0; p0 < k; p0 += 32) {
                const long count = k - p0 < 32 ? k - p0 : 32;
                const __mmask16 lo = count >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << count) - 1u);
                const __mmask16 hi = count >= 32 ? (__mmask16)0xFFFF
                    : (count > 16 ? (__mmask16)((1u << (count - 16)) - 1u) : (__mmask16)0);
                __m512 a = _mm512_setzero_ps(), b = _mm512_setzero_ps();
                if (j < n) {
                    a = _mm512_maskz_loadu_ps(lo, src + j * rs + p0);
                    b = _mm512_maskz_loadu_ps(hi, src + j * rs + p0 + 16);
                }
                _mm512_storeu_si512(pairs, (__m512i)_mm512_cvtne2ps_pbh(b, a));
                const long pairCount = (count + 1) / 2;
                for (long q = 0; q < pairCount; q++) block[(p0 / 2 + q) * 16 + jj] = pairs[q];
            }
        }
    }
}

/// Packs a left operand whose depth is contiguous: 32 values at a time.
static QUILL_AVX512_BF16 void pack_a_rows(const float *src, long rs, long m, long k, uint16_t *dst) {
    const long width = ((k + 1) / 2) * 2;
    for (long i = 0; i < m; i++) {
        const float *row = src + i * rs;
        uint16_t *out = dst + i * width;
        for (long p0 = 0; p0 < width; p0 += 32) {
            const long count = k - p0 < 32 ? k - p0 : 32;
            const __mmask16 lo = count >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << count) - 1u);
            const __mmask16 hi = count >= 32 ? (__mmask16)0xFFFF
                : (count > 16 ? (__mmask16)((1u << (count - 16)) - 1u) : (__mmask16)0);
            const __m512 a = _mm512_maskz_loadu_ps(lo, row + p0);
            const __m512 b = _mm512_maskz_loadu_ps(hi, row + p0 + 16);
            const long stored = width - p0 < 32 ? width - p0 : 32;
            const __mmask32 keep = stored >= 32 ? (__mmask32)0xFFFFFFFFu : (__mmask32)((1u << stored) - 1u);
            _mm512_mask_storeu_epi16(out + p0, keep, (__m512i)_mm512_cvtne2ps_pbh(b, a));
        }
    }
}

/// Rounds two gradient rows (g1 NULL: zeros), 16 columns at a time, into both packed layouts and
/// adds them to the bias gradient, g0's row first.
static QUILL_AVX512_BF16 void pack_gradient_pair(const float *g0, const float *g1, long v, long pair, long k2,
                                                 uint16_t *rows_dst, uint16_t *blocked_dst, float *bias_gradient) {
    const __m512i order = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                           23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const long width = ((v + 1) / 2) * 2;
    uint16_t *row0 = rows_dst + 2 * pair * width, *row1 = row0 + width;
    for (long j = 0; j < width; j += 16) {
        const long left = v - j;
        const __mmask16 mask = left >= 16 ? (__mmask16)0xFFFF : (left > 0 ? (__mmask16)((1u << left) - 1u) : 0);
        const __m512 a = _mm512_maskz_loadu_ps(mask, g0 + j);
        const __m512 b = g1 ? _mm512_maskz_loadu_ps(mask, g1 + j) : _mm512_setzero_ps();
        __m512 sum = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, bias_gradient + j), a);
        if (g1) sum = _mm512_add_ps(sum, b);
        _mm512_mask_storeu_ps(bias_gradient + j, mask, sum);
        const __m512i both = (__m512i)_mm512_cvtne2ps_pbh(b, a);
        // Rows layout: the row's values in order, zero padded to an even width.
        const long stored = width - j < 16 ? width - j : 16;
        const __mmask16 keep = stored >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << stored) - 1u);
        _mm256_mask_storeu_epi16(row0 + j, keep, _mm512_castsi512_si256(both));
        if (g1) _mm256_mask_storeu_epi16(row1 + j, keep, _mm512_extracti64x4_epi64(both, 1));
        // Blocked layout: block j / 16, depth pair `pair`, the two rows interleaved per column.
        _mm512_storeu_si512(blocked_dst + (j / 16) * k2 * 32 + pair * 32, _mm512_permutexvar_epi16(order, both));
    }
}

#endif

void quill_bf16_pack_gradient_rows(const float *g0, const float *g1, long v, long pair, long rows,
                                   uint16_t *rows_dst, uint16_t *blocked_dst, float *bias_gradient) {
    const long k2 = (rows + 1) / 2, width = ((v + 1) / 2) * 2;
#if QUILL_X86
    if (quill_bf16_supported()) {
        // Its steps of 16 up to the even width visit every block of 16 columns, padding included.
        pack_gradient_pair(g0, g1, v, pair, k2, rows_dst, blocked_dst, bias_gradient);
        return;
    }
#endif
    uint16_t *row0 = rows_dst + 2 * pair * width, *row1 = row0 + width;
    const long blocks = (v + 15) / 16;
    for (long j = 0; j < blocks * 16; j++) {
        const float a = j < v ? g0[j] : 0.0f, b = (g1 && j < v) ? g1[j] : 0.0f;
        if (j < v) {
            float sum = bias_gradient[j] + a;
            if (g1) sum = sum + b;
            bias_gradient[j] = sum;
        }
        if (j < width) {
            row0[j] = to_bf16(a);
            if (g1) row1[j] = to_bf16(b);
        }
        uint16_t *block = blocked_dst + (j / 16) * k2 * 32 + pair * 32;
        block[(j % 16) * 2] = to_bf16(a);
        block[(j % 16) * 2 + 1] = to_bf16(b);
    }
}

void quill_bf16_pack_b(const float *src, long rs, long cs, long n, long k, uint16_t *dst) {
#if QUILL_X86
    if (rs == 1 && quill_bf16_supported()) { pack_b_columns(src, cs, n, k, dst); return; }
    if (cs == 1 && quill_bf16_supported()) { pack_b_rows(src, rs, n, k, dst); return; }
#endif
    const long k2 = (k + 1) / 2, blocks = (n + 15) / 16;
    // Tiles of 16 columns by 64 depths keep both access patterns inside L1.
    for (long jb = 0; jb < blocks; jb++) {
        uint16_t *block = dst + jb * k2 * 32;
        for (long p0 = 0; p0 < k; p0 += 64) {
            const long p1 = p0 + 64 < k ? p0 + 64 : k;
            for (long jj = 0; jj < 16; jj++) {
                const long j = jb * 16 + jj;
                for (long p = p0; p < p1; p++) {
                    block[(p >> 1) * 32 + jj * 2 + (p & 1)] = j < n ? to_bf16(src[j * rs + p * cs]) : 0;
                }
            }
        }
        if (k & 1) {
            for (long jj = 0; jj < 16; jj++) block[(k2 - 1) * 32 + jj * 2 + 1] = 0;
        }
    }
}

void quill_bf16_pack_a(const float *src, long rs, long cs, long m, long k, uint16_t *dst) {
    const long width = ((k + 1) / 2) * 2;
#if QUILL_X86
    if (cs == 1 && quill_bf16_supported()) { pack_a_rows(src, rs, m, k, dst); return; }
#endif
    if (cs == 1) {
        for (long i = 0; i < m; i++) {
            const float *row = src + i * rs;
            uint16_t *out = dst + i * width;
            for (long p = 0; p < k; p++) out[p] = to_bf16(row[p]);
            if (k & 1) out[k] = 0;
        }
        return;
    }
    for (long i0 = 0; i0 < m; i0 += 16) {
        const long i1 = i0 + 16 < m ? i0 + 16 : m;
        for (long p0 = 0; p0 < k; p0 += 64) {
            const long p1 = p0 + 64 < k ? p0 + 64 : k;
            for (long i = i0; i < i1; i++) {
                uint16_t *out = dst + i * width;
                for (long p = p0; p < p1; p++) out[p] = to_bf16(src[i * rs + p * cs]);
            }
        }
        if (k & 1) {
            for (long i = i0; i < i1; i++) dst[i * width + k] = 0;
        }
    }
}

#if QUILL_X86
/// One register tile: MR rows by NV blocks of 16 columns, over the whole depth.
static inline __attribute__((always_inline)) QUILL_AVX512_BF16 void tile(
    const int MR, const int NV, long k2, const uint32_t *a, long ars, long aps, const __m512i *b,
    float beta, float *c, long ldc, long col, long n) {
    __m512 acc[8][8];
    for (int r = 0; r < MR; r++)
        for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_ps();
    for (long p = 0; p < k2; p++) {
        __m512bh bv[8];
        for (int v = 0; v < NV; v++) bv[v] = (__m512bh)_mm512_loadu_si512(b + v * k2 + p);
        for (int r = 0; r < MR; r++) {
            const __m512bh av = (__m512bh)_mm512_set1_epi32((int)a[r * ars + p * aps]);
            for (int v = 0; v < NV; v++) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], av, bv[v]);
        }
    }
    for (int v = 0; v < NV; v++) {
        const long j = col + v * 16;
        for (int r = 0; r < MR; r++) quill_store_block(c + r * ldc + j, acc[r][v], n - j, beta);
    }
}

#define TILE_CASES(MR) \
    switch (nv) { \
    case 1: tile(MR, 1, k2, a, ars, aps, b, beta, c, ldc, col, n); break; \
    case 2: tile(MR, 2, k2, a, ars, aps, b, beta, c, ldc, col, n); break; \
    case 3: tile(MR, 3, k2, a, ars, aps, b, beta, c, ldc, col, n); break; \
    case 4: tile(MR, 4, k2, a, ars, aps, b, beta, c, ldc, col, n); break; \
    case 5: tile(MR, 5, k2, a, ars, aps, b, beta, c, ldc, col, n); break; \
    case 6: tile(MR, 6, k2, a, ars, aps, b, beta, c, ldc, col, n); break; \
    case 7: tile(MR, 7, k2, a, ars, aps, b, beta, c, ldc, col, n); break; \
    default: tile(MR, 8, k2, a, ars, aps, b, beta, c, ldc, col, n); break; \
    }

static QUILL_AVX512_BF16 void tile_dispatch(int mr, int nv, long k2, const uint32_t *a, long ars, long aps, const __m512i *b,
                          float beta, float *c, long ldc, long col, long n) {
    switch (mr) {
    case 1: TILE_CASES(1) break;
    case 2: TILE_CASES(2) break;
    case 3: if (nv > 4) nv = 4; TILE_CASES(3) break;
    case 4: if (nv > 4) nv = 4; TILE_CASES(4) break;
    default: if (nv > 2) nv = 2; TILE_CASES(8) break;
    }
}

QUILL_AVX512_BF16 void quill_bf16_gemm(long m, long n, long k, const uint16_t *a16, int a_blocked,
                     const uint16_t *b16, float beta, float *c, long ldc, long j0, long j1) {
    const long k2 = (k + 1) / 2;
    const uint32_t *a = (const uint32_t *)a16;
    const __m512i *b = (const __m512i *)b16;
    if (j1 > n) j1 = n;
    // Fewer rows get wider tiles so that enough independent accumulators hide the latency.
    const int wide = m >= 8 ? 2 : (m >= 3 ? 4 : 8);
    for (long col = j0; col < j1; col += 16 * wide) {
        const long blocksLeft = (j1 - col + 15) / 16;
        const int nv = blocksLeft < wide ? (int)blocksLeft : wide;
        const __m512i *bcol = b + (col / 16) * k2;
        long i = 0;
        while (i < m) {
            const long rest = m - i;
            const int mr = rest >= 8 ? 8 : (rest >= 4 ? 4 : (rest >= 3 ? 3 : (rest >= 2 ? 2 : 1)));
            // Rows layout: A(i, p) at a[i * k2 + p]; blocked layout: at a[(i / 16) * k2 * 16 + p * 16 + i % 16].
            const uint32_t *ai = a_blocked ? a + (i / 16) * k2 * 16 + (i % 16) : a + i * k2;
            tile_dispatch(mr, nv, k2, ai, a_blocked ? 1 : k2, a_blocked ? 16 : 1, bcol, beta,
                          c + i * ldc, ldc, col, j1 < n ? j1 : n);
            i += mr;
        }
    }
}

#else

void quill_bf16_gemm(long m, long n, long k, const uint16_t *a16, int a_blocked,
                     const uint16_t *b16, float beta, float *c, long ldc, long j0, long j1) {
    // Callers check quill_bf16_supported(), which is 0 on this architecture.
    (void)m; (void)n; (void)k; (void)a16; (void)a_blocked; (void)b16; (void)beta; (void)c; (void)ldc; (void)j0; (void)j1;
    abort();
}

#endif
