import Foundation
import _QuillKernels

/// Fused softmax and cross-entropy over rows of logits.
public enum SoftmaxCrossEntropy {
    /// Adds `bias` to each row of `logits`, then returns `-log softmax(row)[target]` summed over rows.
    ///
    /// - Parameters:
    ///   - logits: [rows, V], updated in place: on return each row holds its logits plus `bias`,
    ///     or, when `gradientScale` is given, `gradientScale * (softmax(row) - onehot(target))`.
    ///   - bias: [V]
    ///   - target: maps a row to its target id in `0..<V`.
    /// - Returns: the summed cross-entropy in nats, accumulated in `Double`.
    @inlinable
    public static func forward(
        logits: UnsafeMutablePointer<Float>, rows: Int, vocabularySize v: Int,
        bias: UnsafePointer<Float>,
        gradientScale: Float?,
        target: (Int) -> Int
    ) -> Double {
        var total = 0.0
        for row in 0..<rows {
            let z = logits + row * v
            var maximum = -Float.infinity
            for j in 0..<v {
                let value = z[j] + bias[j]
                z[j] = value
                maximum = Swift.max(maximum, value)
            }
            let y = target(row)
            precondition(y >= 0 && y < v, "target id out of range")
            let logitOfTarget = z[y]
            var sum: Float = 0
            if let scale = gradientScale {
                for j in 0..<v {
                    let e = quillExp(z[j] - maximum)
                    z[j] = e
                    sum += e
                }
                let factor = scale / sum
                for j in 0..<v { z[j] *= factor }
                z[y] -= scale
            } else {
                for j in 0..<v { sum += quillExp(z[j] - maximum) }
            }
            total += Double(maximum) + Foundation.log(Double(sum)) - Double(logitOfTarget)
        }
        return total
    }

    /// `forward` with each row's maximum and sum taken over eight lanes at a time: a different
    /// order of additions (so not `forward`'s bits), several times faster on large vocabularies.
    /// The bfloat16 training engine, whose products are rounded already, runs it as
    /// `forwardEightLanesPacked`; the float32 engine keeps `forward`.
    public static func forwardEightLanes(
        logits: UnsafeMutablePointer<Float>, rows: Int, vocabularySize v: Int,
        bias: UnsafePointer<Float>,
        gradientScale scale: Float,
        target: (Int) -> Int
    ) -> Double {
        var total = 0.0
        for row in 0..<rows {
            let z = logits + row * v
            total += eightLaneRow(z, vocabularySize: v, bias: bias, gradientScale: scale, target: target(row), into: z)
        }
        return total
    }

    /// `forwardEightLanes` whose gradients go straight to the bfloat16 operands of the decoder's
    /// backward products, two rows at a time through a scratch of two rows, so the [rows, V]
    /// matrix of float gradients is never written and read back (the logits are left as they were).
    ///
    /// - rowsLayout: room for the gradients as `BFloat16Kernels.packLeft` lays out [rows, V];
    /// - blockedLayout: as `PackedBFloat16.packRight` lays out V columns of depth `rows`;
    /// - biasGradient: [V], overwritten with the gradients' column sums (rows in order);
    /// - scratch: at least 2 V floats.
    /// The packed gradients have the same bits as packing `forwardEightLanes`'s; so has the loss.
    static func forwardEightLanesPacked(
        logits: UnsafePointer<Float>, rows: Int, vocabularySize v: Int,
        bias: UnsafePointer<Float>, gradientScale scale: Float, target: (Int) -> Int,
        scratch: UnsafeMutablePointer<Float>, rowsLayout: PackedBFloat16, blockedLayout: PackedBFloat16,
        biasGradient: UnsafeMutablePointer<Float>
    ) -> Double {
        precondition(rowsLayout.count >= PackedBFloat16.leftCount(m: rows, k: v)
                     && blockedLayout.count >= PackedBFloat16.rightCount(n: v, k: rows), "packed gradients too small")
        biasGradient.update(repeating: 0, count: v)
        var total = 0.0
        var row = 0
        while row < rows {
            total += eightLaneRow(logits + row * v, vocabularySize: v, bias: bias, gradientScale: scale,
                                  target: target(row), into: scratch)
            let second = row + 1 < rows
            if second {
                total += eightLaneRow(logits + (row + 1) * v, vocabularySize: v, bias: bias, gradientScale: scale,
                                      target: target(row + 1), into: scratch + v)
            }
            quill_bf16_pack_gradient_rows(scratch, second ? UnsafePointer(scratch + v) : nil, v, row / 2, rows,
                                          rowsLayout.pointer, blockedLayout.pointer, biasGradient)
            row += 2
        }
        return total
    }

    /// One row of `forwardEightLanes`: reads logits `z` (without the bias), writes
    /// `scale * (softmax(z + bias) - onehot(y))` to `g` (which may be `z`), returns the row's loss.
    @inline(__always)
    private static func eightLaneRow(_ z: UnsafePointer<Float>, vocabularySize v: Int, bias: UnsafePointer<Float>,
                                     gradientScale scale: Float, target y: Int, into g: UnsafeMutablePointer<Float>) -> Double {
        precondition(y >= 0 && y < v, "target id out of range")
        let wide = v / 8 * 8
        let source = UnsafeRawPointer(z), raw = UnsafeMutableRawPointer(g), biasRaw = UnsafeRawPointer(bias)
        var maxima = SIMD8<Float>(repeating: -.infinity)
        var j = 0
        while j < wide {
            let value = source.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
                + biasRaw.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
            raw.storeBytes(of: value, toByteOffset: j * 4, as: SIMD8<Float>.self)
            maxima = maxima.replacing(with: value, where: value .> maxima)
            j += 8
        }
        var maximum = maxima.max()
        while j < v {
            g[j] = z[j] + bias[j]
            maximum = Swift.max(maximum, g[j])
            j += 1
        }
        let logitOfTarget = g[y]
        var sums = SIMD8<Float>(repeating: 0)
        j = 0
        while j < wide {
            let e = quill_exp8(raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self) - maximum)
            raw.storeBytes(of: e, toByteOffset: j * 4, as: SIMD8<Float>.self)
            sums += e
            j += 8
        }
        var sum = sums.sum()
        while j < v {
            let e = quillExp(g[j] - maximum)
            g[j] = e
            sum += e
            j += 1
        }
        let factor = scale / sum
        j = 0
        while j < wide {
            let e = raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
            raw.storeBytes(of: e * factor, toByteOffset: j * 4, as: SIMD8<Float>.self)
            j += 8
        }
        while j < v { g[j] *= factor; j += 1 }
        g[y] -= scale
        return Double(maximum) + Foundation.log(Double(sum)) - Double(logitOfTarget)
    }
}
