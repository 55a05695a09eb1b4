#ifndef QUILL_EXP_H
#define QUILL_EXP_H

#include <stdint.h>
#include <string.h>

/// Quill's one `exp`, written once for scalars and for vectors of floats.
///
/// The argument is clamped to [-87, 88] and reduced as `x = n ln2 + r` with `|r| <= ln2 / 2`; a
/// degree-7 Taylor polynomial gives `e^r` (truncation error below 2e-8 relative), scaled by `2^n`
/// built in the exponent bits. Within a few ulps of `exp`. Being free of branches and calls, loops
/// over it vectorize, and the AVX-512 passes run the very same operations (built without
/// contraction into fused multiply-adds), so scalar and vector results agree to the bit.
///
/// `T` is `float` or a clang extended vector of floats, `I` the matching `int32_t` type;
/// `TO_BITS(t)` reinterprets a `T` as an `I`, `FROM_BITS(i)` the reverse.
#define QUILL_EXP_OF(T, I, value, TO_BITS, FROM_BITS) __extension__ ({ \
    const T quill_x_ = __builtin_elementwise_min(__builtin_elementwise_max((T)(value), (T)-87.0f), (T)88.0f); \
    /* Round x / ln2 to the nearest integer with the 1.5 * 2^23 trick. */ \
    const T quill_t_ = quill_x_ * 1.44269504f + 12582912.0f; \
    const T quill_n_ = quill_t_ - 12582912.0f; \
    const T quill_r_ = (quill_x_ - quill_n_ * 0.69314575f) - quill_n_ * 1.4286068e-6f; \
    T quill_p_ = (T)(1.0f / 5040.0f); \
    quill_p_ = quill_p_ * quill_r_ + 1.0f / 720.0f; \
    quill_p_ = quill_p_ * quill_r_ + 1.0f / 120.0f; \
    quill_p_ = quill_p_ * quill_r_ + 1.0f / 24.0f; \
    quill_p_ = quill_p_ * quill_r_ + 1.0f / 6.0f; \
    quill_p_ = quill_p_ * quill_r_ + 0.5f; \
    quill_p_ = quill_p_ * quill_r_ + 1.0f; \
    quill_p_ = quill_p_ * quill_r_ + 1.0f; \
    const I quill_e_ = ((TO_BITS(quill_t_) - 0x4B400000) + 127) << 23; \
    quill_p_ * FROM_BITS(quill_e_); \
})

static inline int32_t quill_float_bits(float f) { int32_t i; memcpy(&i, &f, 4); return i; }
static inline float quill_bits_float(int32_t i) { float f; memcpy(&f, &i, 4); return f; }

/// `exp(x)` for one value (see `QUILL_EXP_OF`).
static inline float quill_exp(float x) {
    return QUILL_EXP_OF(float, int32_t, x, quill_float_bits, quill_bits_float);
}

typedef float quill_float8 __attribute__((ext_vector_type(8)));
typedef int32_t quill_int8 __attribute__((ext_vector_type(8)));
#define QUILL_FLOAT8_BITS(v) ((quill_int8)(v))
#define QUILL_BITS_FLOAT8(v) ((quill_float8)(v))

/// `exp` of eight values at once (`SIMD8<Float>` in Swift), each the bits of `quill_exp`.
static inline quill_float8 quill_exp8(quill_float8 x) {
    return QUILL_EXP_OF(quill_float8, quill_int8, x, QUILL_FLOAT8_BITS, QUILL_BITS_FLOAT8);
}

/// The logistic function `1 / (1 + e^-x)`.
static inline float quill_sigmoid(float x) { return 1.0f / (1.0f + quill_exp(-x)); }

/// The hyperbolic tangent, as `1 - 2 / (e^{2x} + 1)` (absolute error a few 1e-8).
static inline float quill_tanh(float x) { return 1.0f - 2.0f / (quill_exp(2.0f * x) + 1.0f); }

#endif
