#ifndef QUILL_KERNELS_H
#define QUILL_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "QuillExp.h"

/// Whether this CPU (and OS) can run the AVX-512 BF16 kernels below: 1 or 0.
int quill_bf16_supported(void);

/// Elements (uint16) of a packed right operand for `n` output columns and depth `k`.
///
/// Layout: column blocks of 16, each `[ceil(k/2)][16][2]`, zero padded.
size_t quill_bf16_packed_b_count(long n, long k);

/// Rounds B(j, p) = src[j * row_stride + p * col_stride] (j < n, p < k) to bfloat16 into `dst`.
void quill_bf16_pack_b(const float *src, long row_stride, long col_stride, long n, long k, uint16_t *dst);

/// Elements (uint16) of a packed left operand of `m` rows and depth `k`: `[m][2 * ceil(k/2)]`.
size_t quill_bf16_packed_a_count(long m, long k);

/// Rounds A(i, p) = src[i * row_stride + p * col_stride] (i < m, p < k) to bfloat16 into `dst`.
void quill_bf16_pack_a(const float *src, long row_stride, long col_stride, long m, long k, uint16_t *dst);

/// The decoder's logit gradients, two rows at a time, straight into the two packed forms its backward
/// products read, without a float copy of the whole matrix: rows 2 * pair (`g0`, v values) and
/// 2 * pair + 1 (`g1`, or NULL past the last of `rows` rows, read as zeros) are rounded to bfloat16
/// into `rows_dst` as `quill_bf16_pack_a` lays out [rows, v] and into `blocked_dst` as
/// `quill_bf16_pack_b` lays out n = v columns of depth k = rows, and added to `bias_gradient` [v]
/// (g0's row, then g1's). The same bits as packing the float gradients.
void quill_bf16_pack_gradient_rows(const float *g0, const float *g1, long v, long pair, long rows,
                                   uint16_t *rows_dst, uint16_t *blocked_dst, float *bias_gradient);

/// C[i, j] = sum_p A(i, p) B(j, p) + beta * C[i, j] for i < m and output columns j in [j0, j1).
///
/// `b` is packed by `quill_bf16_pack_b`; `a` by `quill_bf16_pack_a` (`a_blocked == 0`) or, as if it
/// were a right operand of `m` columns, by `quill_bf16_pack_b` (`a_blocked == 1`: blocks of 16 rows,
/// the faster packing when the source is stored depth-major). Both with the same `k`; `j0` is a
/// multiple of 16. Products are exact in fp32 and accumulated in fp32. With `beta == 0` C is only written.
void quill_bf16_gemm(long m, long n, long k, const uint16_t *a, int a_blocked, const uint16_t *b,
                     float beta, float *c, long ldc, long j0, long j1);



/// `quill_bf16_gemm` over all `n` columns, shared with a helper thread; the same bits as one call.
///
/// For small, latency-bound products (one lane's step). The caller never waits for work the
/// helper has not started, and runs alone for a while whenever the helper could not keep up
/// (its core busy). The helper spins briefly between jobs, then sleeps. If another caller is
/// using the helper, the product runs alone.
void quill_bf16_gemm_pair(long m, long n, long k, const uint16_t *a, int a_blocked, const uint16_t *b,
                          float beta, float *c, long ldc);

/// A test seam: while `paused` is non-zero the helper thread takes no work (as if it could not run).
void quill_bf16_set_helper_paused(int paused);

/// Elements (float) of a packed fp32 right operand for `n` output columns and depth `k`.
///
/// Layout: column blocks of 16, each `[k][16]`, the columns past `n` zero.
size_t quill_f32_packed_b_count(long n, long k);

/// Copies B(j, p) = src[j * row_stride + p * col_stride] (j < n, p < k) into `dst` in the packed layout.
void quill_f32_pack_b(const float *src, long row_stride, long col_stride, long n, long k, float *dst);

/// C[i, j] = sum_p A[i * lda + p] B(j, p) + beta * C[i, j] for i < m and output columns j in [j0, j1).
///
/// `b` is packed by `quill_f32_pack_b` with the same `k`; `a` is plain row-major fp32; `j0` is a
/// multiple of 16. Sums in fp32, in depth order; with AVX-512F or AVX2 and FMA (checked at run time)
/// each step is a fused multiply-add, the same bits on both, else the portable loop below. With
/// `beta == 0` C is only written.
void quill_f32_gemm(long m, long n, long k, const float *a, long lda, const float *b,
                    float beta, float *c, long ldc, long j0, long j1);

/// `quill_f32_gemm` in plain C whatever the CPU: a separate multiply and add per step (no contraction).
void quill_f32_gemm_portable(long m, long n, long k, const float *a, long lda, const float *b,
                             float beta, float *c, long ldc, long j0, long j1);

/// Whether this CPU (and OS) runs AVX-512F: 1 or 0.
int quill_avx512_supported(void);

/// Whether this CPU (and OS) runs AVX2 and FMA: 1 or 0.
int quill_avx2_fma_supported(void);

/// Writes the CPU's 12-character vendor name ("GenuineIntel", "AuthenticAMD", ...) and a NUL into
/// `out` (13 bytes); an empty string where there is no CPUID to ask.
void quill_cpu_vendor(char *out);

/// The fused forward pass of one LSTM step over `batch` lanes (gates i, f, g, o, each `h` wide).
///
/// - gates: [batch, 4h]; pre-activations without bias on entry, activations on return.
/// - bias: [4h]. - previous_cell: [batch, h]; may equal `cell`.
/// - cell, hidden: [batch, h] outputs. - tanh_cell: [batch, h] output `tanh(c)`, or NULL.
/// Operations are the same, in the same order and without fused multiply-adds, whatever the CPU.
void quill_lstm_forward_step(float *gates, const float *bias, const float *previous_cell,
                             float *cell, float *hidden, float *tanh_cell, long batch, long h);

/// The fused backward pass of one LSTM step: from d(h), d(c) to d(gate pre-activations).
///
/// - gates: [batch, 4h]; activations on entry, pre-activation gradients on return.
/// - previous_cell, tanh_cell, hidden_gradient, recurrent_hidden: [batch, h].
/// - recurrent_cell: [batch, h]; d(c) from the next step on entry, `dc * f` on return.
/// - recurrent_scale: [batch] keep factors for the gradients from the next step, or NULL for none.
void quill_lstm_backward_step(float *gates, const float *previous_cell, const float *tanh_cell,
                              const float *hidden_gradient, const float *recurrent_hidden,
                              float *recurrent_cell, const float *recurrent_scale, long batch, long h);

/// The name of the kernels OpenBLAS runs (`openblas_get_corename`, such as "SkylakeX"), or NULL
/// when the BLAS linked does not say.
const char *quill_blas_core(void);

/// The core OpenBLAS had chosen when Quill replaced it at load time ("Prescott", its SSE3
/// fallback for a CPU model it does not know), or NULL when OpenBLAS's choice stood.
const char *quill_blas_replaced_core(void);

/// The rule of that replacement, apart for tests: the OpenBLAS core to force, or NULL to keep
/// `detected`. Only the SSE3 fallback is replaced, and never when the user set OPENBLAS_CORETYPE;
/// the replacement is the best core the CPU runs (`bf16`, `avx512`, `avx2_fma`: 1 or 0) whose
/// table the library has (`has("gotoblas_COOPERLAKE")` and so on).
const char *quill_blas_core_for(const char *detected, int user_chose, int bf16, int avx512, int avx2_fma,
                                int (*has)(const char *table));
#endif
