import _QuillKernels

/// `exp` as Quill computes it everywhere: `_QuillKernels/include/QuillExp.h`'s one definition.
///
/// Reduces `x = n ln 2 + r` with `|r| <= ln 2 / 2`, evaluates a degree-7 Taylor polynomial for
/// `e^r` and scales by `2^n` through the exponent bits; within a few ulps of `exp` for `x` in
/// [-87, 88], inputs outside are clamped. The LSTM kernels' vector passes run the same operations,
/// so softmax, sampling and the gates agree to the bit wherever they compute the same value.
@inlinable @inline(__always)
public func quillExp(_ value: Float) -> Float {
    quill_exp(value)
}

/// The logistic function `1 / (1 + e^-x)`.
@inlinable @inline(__always)
public func quillSigmoid(_ x: Float) -> Float {
    quill_sigmoid(x)
}

/// The hyperbolic tangent, as `1 - 2 / (e^{2x} + 1)` (absolute error a few 1e-8).
@inlinable @inline(__always)
public func quillTanh(_ x: Float) -> Float {
    quill_tanh(x)
}
