import Foundation

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
}
