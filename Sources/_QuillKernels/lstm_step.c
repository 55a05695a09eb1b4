// The fused element-wise passes of an LSTM step, vectorized with AVX-512 where the CPU has it.
//
// The scalar and vector paths perform the same IEEE operations in the same order (no fused
// multiply-adds: the target is built with -ffp-contract=off), so they give identical results.
// The compiler fuses no multiply with an add on its own (intrinsics stay as written), whatever the flags.
#pragma STDC FP_CONTRACT OFF
#include "QuillKernels.h"
#include "QuillExp.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define QUILL_X86 1
#define QUILL_AVX512 __attribute__((target("avx512f")))
#else
#define QUILL_X86 0
#endif


#if QUILL_X86
typedef float quill_float16 __attribute__((ext_vector_type(16)));
typedef int32_t quill_int16 __attribute__((ext_vector_type(16)));
#define QUILL_VECTOR_BITS(v) ((quill_int16)(v))
#define QUILL_VECTOR_FLOAT(v) ((quill_float16)(v))

// QuillExp.h's exp, sixteen lanes at a time.
static inline QUILL_AVX512 __m512 exp_vector(__m512 value) {
    return (__m512)QUILL_EXP_OF(quill_float16, quill_int16, (quill_float16)value, QUILL_VECTOR_BITS, QUILL_VECTOR_FLOAT);
}

static inline QUILL_AVX512 __m512 sigmoid_vector(__m512 x) {
    const __m512 one = _mm512_set1_ps(1.0f);
    return _mm512_div_ps(one, _mm512_add_ps(one, exp_vector(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}

static inline QUILL_AVX512 __m512 tanh_vector(__m512 x) {
    const __m512 one = _mm512_set1_ps(1.0f);
    return _mm512_sub_ps(one, _mm512_div_ps(_mm512_set1_ps(2.0f),
        _mm512_add_ps(exp_vector(_mm512_mul_ps(_mm512_set1_ps(2.0f), x)), one)));
}

#endif

static void forward_scalar(float *gi, const float *bias, const float *cp, float *c_out, float *h_out,
                           float *t_out, long from, long h) {
    float *gf = gi + h, *gg = gi + 2 * h, *go = gi + 3 * h;
    const float *bi = bias, *bf = bias + h, *bg = bias + 2 * h, *bo = bias + 3 * h;
    for (long j = from; j < h; j++) {
        const float i = quill_sigmoid(gi[j] + bi[j]);
        const float f = quill_sigmoid(gf[j] + bf[j]);
        const float g = quill_tanh(gg[j] + bg[j]);
        const float o = quill_sigmoid(go[j] + bo[j]);
        const float c = f * cp[j] + i * g;
        const float t = quill_tanh(c);
        gi[j] = i; gf[j] = f; gg[j] = g; go[j] = o;
        c_out[j] = c;
        if (t_out) t_out[j] = t;
        h_out[j] = o * t;
    }
}

#if QUILL_X86
static QUILL_AVX512 long forward_vector(float *gi, const float *bias, const float *cp, float *c_out,
                                        float *h_out, float *t_out, long h) {
    float *gf = gi + h, *gg = gi + 2 * h, *go = gi + 3 * h;
    const float *bi = bias, *bf = bias + h, *bg = bias + 2 * h, *bo = bias + 3 * h;
    long j = 0;
    for (; j + 16 <= h; j += 16) {
        const __m512 i = sigmoid_vector(_mm512_add_ps(_mm512_loadu_ps(gi + j), _mm512_loadu_ps(bi + j)));
        const __m512 f = sigmoid_vector(_mm512_add_ps(_mm512_loadu_ps(gf + j), _mm512_loadu_ps(bf + j)));
        const __m512 g = tanh_vector(_mm512_add_ps(_mm512_loadu_ps(gg + j), _mm512_loadu_ps(bg + j)));
        const __m512 o = sigmoid_vector(_mm512_add_ps(_mm512_loadu_ps(go + j), _mm512_loadu_ps(bo + j)));
        const __m512 c = _mm512_add_ps(_mm512_mul_ps(f, _mm512_loadu_ps(cp + j)), _mm512_mul_ps(i, g));
        const __m512 t = tanh_vector(c);
        _mm512_storeu_ps(gi + j, i); _mm512_storeu_ps(gf + j, f);
        _mm512_storeu_ps(gg + j, g); _mm512_storeu_ps(go + j, o);
        _mm512_storeu_ps(c_out + j, c);
        if (t_out) _mm512_storeu_ps(t_out + j, t);
        _mm512_storeu_ps(h_out + j, _mm512_mul_ps(o, t));
    }
    return j;
}

#endif

void quill_lstm_forward_step(float *gates, const float *bias, const float *previous_cell,
                             float *cell, float *hidden, float *tanh_cell, long batch, long h) {
    const int vector = quill_avx512_supported();
    (void)vector;
    for (long b = 0; b < batch; b++) {
        float *gi = gates + b * 4 * h;
        const float *cp = previous_cell + b * h;
        float *c_out = cell + b * h, *h_out = hidden + b * h;
        float *t_out = tanh_cell ? tanh_cell + b * h : NULL;
#if QUILL_X86
        const long done = vector ? forward_vector(gi, bias, cp, c_out, h_out, t_out, h) : 0;
#else
        const long done = 0;
#endif
        forward_scalar(gi, bias, cp, c_out, h_out, t_out, done, h);
    }
}

static void backward_scalar(float *gi, const float *cp, const float *tc, const float *d_h,
                            const float *rh, float *rc, float keep, long from, long h) {
    float *gf = gi + h, *gg = gi + 2 * h, *go = gi + 3 * h;
    for (long j = from; j < h; j++) {
        const float i = gi[j], f = gf[j], g = gg[j], o = go[j], t = tc[j];
        const float dh = d_h[j] + keep * rh[j];
        const float dc = keep * rc[j] + dh * o * (1.0f - t * t);
        gi[j] = dc * g * i * (1.0f - i);
        gf[j] = dc * cp[j] * f * (1.0f - f);
        gg[j] = dc * i * (1.0f - g * g);
        go[j] = dh * t * o * (1.0f - o);
        rc[j] = dc * f;
    }
}

#if QUILL_X86
static QUILL_AVX512 long backward_vector(float *gi, const float *cp, const float *tc, const float *d_h,
                                         const float *rh, float *rc, float keep_scalar, long h) {
    float *gf = gi + h, *gg = gi + 2 * h, *go = gi + 3 * h;
    const __m512 one = _mm512_set1_ps(1.0f), keep = _mm512_set1_ps(keep_scalar);
    long j = 0;
    for (; j + 16 <= h; j += 16) {
        const __m512 i = _mm512_loadu_ps(gi + j), f = _mm512_loadu_ps(gf + j);
        const __m512 g = _mm512_loadu_ps(gg + j), o = _mm512_loadu_ps(go + j), t = _mm512_loadu_ps(tc + j);
        const __m512 dh = _mm512_add_ps(_mm512_loadu_ps(d_h + j), _mm512_mul_ps(keep, _mm512_loadu_ps(rh + j)));
        const __m512 dc = _mm512_add_ps(_mm512_mul_ps(keep, _mm512_loadu_ps(rc + j)),
            _mm512_mul_ps(_mm512_mul_ps(dh, o), _mm512_sub_ps(one, _mm512_mul_ps(t, t))));
        _mm512_storeu_ps(gi + j, _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(dc, g), i), _mm512_sub_ps(one, i)));
        _mm512_storeu_ps(gf + j, _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(dc, _mm512_loadu_ps(cp + j)), f),
                                               _mm512_sub_ps(one, f)));
        _mm512_storeu_ps(gg + j, _mm512_mul_ps(_mm512_mul_ps(dc, i), _mm512_sub_ps(one, _mm512_mul_ps(g, g))));
        _mm512_storeu_ps(go + j, _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(dh, t), o), _mm512_sub_ps(one, o)));
        _mm512_storeu_ps(rc + j, _mm512_mul_ps(dc, f));
    }
    return j;
}

#endif

void quill_lstm_backward_step(float *gates, const float *previous_cell, const float *tanh_cell,
                              const float *hidden_gradient, const float *recurrent_hidden,
                              float *recurrent_cell, const float *recurrent_scale, long batch, long h) {
    const int vector = quill_avx512_supported();
    (void)vector;
    for (long b = 0; b < batch; b++) {
        float *gi = gates + b * 4 * h;
        const float *cp = previous_cell + b * h, *tc = tanh_cell + b * h, *d_h = hidden_gradient + b * h;
        const float *rh = recurrent_hidden + b * h;
        float *rc = recurrent_cell + b * h;
        const float keep = recurrent_scale ? recurrent_scale[b] : 0.0f;
#if QUILL_X86
        const long done = vector ? backward_vector(gi, cp, tc, d_h, rh, rc, keep, h) : 0;
#else
        const long done = 0;
#endif
        backward_scalar(gi, cp, tc, d_h, rh, rc, keep, done, h);
    }
}
