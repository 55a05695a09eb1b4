// The epilogue shared by the packed-product kernels (bf16_gemm.c, f32_gemm.c).
#ifndef QUILL_TILE_STORE_H
#define QUILL_TILE_STORE_H
#if defined(__x86_64__)
#include <immintrin.h>

// Stores one 16-column block of a tile row: out[0..<min(left, 16)] = value + beta * out.
// `left` is how many columns remain from this block's first column to the matrix's edge.
static inline __attribute__((target("avx512f"), always_inline))
void quill_store_block(float *out, __m512 value, long left, float beta) {
    const __mmask16 mask = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
    if (beta != 0.0f) value = _mm512_fmadd_ps(_mm512_set1_ps(beta), _mm512_maskz_loadu_ps(mask, out), value);
    _mm512_mask_storeu_ps(out, mask, value);
}

#endif
#endif
