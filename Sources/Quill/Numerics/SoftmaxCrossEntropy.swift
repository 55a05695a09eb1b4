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
    /// For the bfloat16 training engine, whose products are rounded already; the float32 engine
    /// keeps `forward`.
    public static func forwardEightLanes(
        logits: UnsafeMutablePointer<Float>, rows: Int, vocabularySize v: Int,
        bias: UnsafePointer<Float>,
        gradientScale scale: Float,
        target: (Int) -> Int
    ) -> Double {
        let wide = v / 8 * 8
        var total = 0.0
        for row in 0..<rows {
            let z = logits + row * v
            let raw = UnsafeMutableRawPointer(z), biasRaw = UnsafeRawPointer(bias)
            var maxima = SIMD8<Float>(repeating: -.infinity)
            var j = 0
            while j < wide {
                let value = raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
                    + biasRaw.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
                raw.storeBytes(of: value, toByteOffset: j * 4, as: SIMD8<Float>.self)
                maxima = pointwiseMax(maxima, value)
                j += 8
            }
            var maximum = maxima.max()
            while j < v {
                z[j] += bias[j]
                maximum = Swift.max(maximum, z[j])
                j += 1
            }
            let y = target(row)
            precondition(y >= 0 && y < v, "target id out of range")
            let logitOfTarget = z[y]
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
                let e = quillExp(z[j] - maximum)
                z[j] = e
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
            while j < v { z[j] *= factor; j += 1 }
            z[y] -= scale
            total += Double(maximum) + Foundation.log(Double(sum)) - Double(logitOfTarget)
        }
        return total
    }
}
