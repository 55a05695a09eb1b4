/// Branch-free, vectorizable approximations of `exp`, the logistic sigmoid and `tanh` in `Float`.
///
/// `quillExp` reduces `x = n ln 2 + r` with `|r| <= ln 2 / 2`, evaluates a degree-7 Taylor
/// polynomial for `e^r` (truncation error below 2e-8 relative) and scales by `2^n` through the
/// exponent bits; the result is within a few ulps of `exp` for `x` in [-87, 88], inputs outside
/// are clamped. Being free of branches and calls, loops over it vectorize in release builds.
@inlinable @inline(__always)
public func quillExp(_ value: Float) -> Float {
    let x = Swift.min(Swift.max(value, -87.0), 88.0)
    // Round x / ln 2 to the nearest integer with the 1.5 * 2^23 trick.
    let shifter: Float = 12_582_912.0
    let t = x * 1.442_695_04 + shifter
    let n = t - shifter
    let r = (x - n * 0.693_145_75) - n * 1.428_606_8e-6
    var p: Float = 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    let exponent = Int32(bitPattern: t.bitPattern) &- 0x4B40_0000
    let scale = Float(bitPattern: UInt32(bitPattern: (exponent &+ 127) &<< 23))
    return p * scale
}

/// The logistic function `1 / (1 + e^-x)`.
@inlinable @inline(__always)
public func quillSigmoid(_ x: Float) -> Float {
    1.0 / (1.0 + quillExp(-x))
}

/// The hyperbolic tangent, as `1 - 2 / (e^{2x} + 1)` (absolute error a few 1e-8).
@inlinable @inline(__always)
public func quillTanh(_ x: Float) -> Float {
    1.0 - 2.0 / (quillExp(2.0 * x) + 1.0)
}
