// The fused element-wise passes of an LSTM step, vectorized with AVX-512 where the CPU has it.
//
// The scalar and vector paths perform the same IEEE operations in the same order (no fused
// multiply-adds: the target is built with -ffp-contract=off), so they give identical results.
#include "QuillKernels.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define QUILL_X86 1
#define QUILL_AVX512 __attribute__((target("avx512f")))
#else
#define QUILL_X86 0
#endif

int quill_avx512_supported(void) {
#if QUILL_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

static int avx512_state = -1;

static inline int use_avx512(void) {
    int s = __atomic_load_n(&avx512_state, __ATOMIC_RELAXED);
    if (s < 0) {
        s = quill_avx512_supported();
        __atomic_store_n(&avx512_state, s, __ATOMIC_RELAXED);
    }
    return s;
}

// exp(x): x clamped to [-87, 88], x = n ln2 + r, degree-7 Taylor polynomial, scaled by 2^n.
static inline float exp_scalar(float value) {
    float x = value < -87.0f ? -87.0f : value;
    x = x > 88.0f ? 88.0f : x;
    const float shifter = 12582912.0f;
    const float t = x * 1.44269504f + shifter;
    const float n = t - shifter;
    const float r = (x - n * 0.69314575f) - n * 1.4286068e-6f;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t bits;
    memcpy(&bits, &t, 4);
    const uint32_t e = (uint32_t)((bits - 0x4B400000) + 127) << 23;
    float scale;
    memcpy(&scale, &e, 4);
    return p * scale;
}

static inline float sigmoid_scalar(float x) { return 1.0f / (1.0f + exp_scalar(-x)); }
static inline float tanh_scalar(float x) { return 1.0f - 2.0f / (exp_scalar(2.0f * x) + 1.0f); }

#if QUILL_X86
static inline QUILL_AVX512 __m512 exp_vector(__m512 value) {
    __m512 x = _mm512_max_ps(value, _mm512_set1_ps(-87.0f));
    x = _mm512_min_ps(x, _mm512_set1_ps(88.0f));
    const __m512 shifter = _mm512_set1_ps(12582912.0f);
    const __m512 t = _mm512_add_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)), shifter);
    const __m512 n = _mm512_sub_ps(t, shifter);
    const __m512 r = _mm512_sub_ps(_mm512_sub_ps(x, _mm512_mul_ps(n, _mm512_set1_ps(0.69314575f))),
                                   _mm512_mul_ps(n, _mm512_set1_ps(1.4286068e-6f)));
    __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f / 720.0f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(0.5f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f));
    __m512i e = _mm512_sub_epi32(_mm512_castps_si512(t), _mm512_set1_epi32(0x4B400000));
    e = _mm512_slli_epi32(_mm512_add_epi32(e, _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
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
        const float i = sigmoid_scalar(gi[j] + bi[j]);
        const float f = sigmoid_scalar(gf[j] + bf[j]);
        const float g = tanh_scalar(gg[j] + bg[j]);
        const float o = sigmoid_scalar(go[j] + bo[j]);
        const float c = f * cp[j] + i * g;
        const float t = tanh_scalar(c);
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
    const int vector = use_avx512();
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
    const int vector = use_avx512();
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
