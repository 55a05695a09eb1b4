/// A fast single-precision `exp` for arguments at most 0, eight lanes at a time, used to turn scaled logits into weights.
///
/// Range reduction `x = n ln2 + r` with `|r| <= ln2 / 2`, a degree-7 polynomial for `exp(r)`
/// (the classic Cephes minimax coefficients for single precision), and `2^n` built from the exponent bits.
/// The relative error is within a few units in the last place over [-87, 0]; arguments below
/// -87.3 (including -infinity) give exactly 0, so masked logits contribute nothing.
@inline(__always)
@usableFromInline
func samplingExp(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let underflow = x .< -87.3
    let clamped = x.replacing(with: -87.3, where: underflow)
    // Adding 1.5 * 2^23 rounds to an integer that lands in the low mantissa bits, which gives both
    // n = round(x / ln2) and the bits of 2^n without a (slow, generic) float-to-int conversion.
    let shifted = clamped * 1.442_695_04 + 12_582_912
    let n = shifted - 12_582_912
    // r = x - n ln2, with ln2 split in two so the product is exact enough.
    var r = clamped - n * 0.693_359_375
    r = r - n * -2.121_944_4e-4
    // The polynomial in Estrin's form: shallower dependency chains than Horner's, same coefficients.
    let r2 = r * r
    let a = r * 1.666_666_55e-1 + 5.000_000_12e-1
    let b = r * 8.333_451_9e-3 + 4.166_579_59e-2
    let c = r * 1.987_569_15e-4 + 1.398_199_95e-3
    let q = a + r2 * (b + r2 * c)
    let p = q * r2 + r + 1
    let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
    let scale = unsafeBitCast((integer &+ 127) &<< 23, to: SIMD8<Float>.self)
    return (p * scale).replacing(with: 0, where: underflow)
}

/// The same `exp` for one value, for the tail of a row shorter than eight.
@inline(__always)
@usableFromInline
func samplingExp(_ x: Float) -> Float {
    guard x >= -87.3 else { return 0 }  // also -infinity
    let shifted = x * 1.442_695_04 + 12_582_912
    let n = shifted - 12_582_912
    var r = x - n * 0.693_359_375
    r = r - n * -2.121_944_4e-4
    let r2 = r * r
    let a = r * 1.666_666_55e-1 + 5.000_000_12e-1
    let b = r * 8.333_451_9e-3 + 4.166_579_59e-2
    let c = r * 1.987_569_15e-4 + 1.398_199_95e-3
    let q = a + r2 * (b + r2 * c)
    let p = q * r2 + r + 1
    let integer = Int32(bitPattern: shifted.bitPattern) &- 0x4B40_0000
    return p * Float(bitPattern: UInt32(bitPattern: (integer &+ 127) &<< 23))
}
