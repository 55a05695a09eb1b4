/// What `GradientClipping.clip` found and did.
public struct GradientClipResult: Equatable, Sendable {
    /// The global L2 norm of the gradients before clipping (infinite or NaN if any gradient is).
    public var norm: Double
    /// The factor the gradients were multiplied by: 1 when the norm was within the limit or not finite.
    public var scale: Float
    /// Whether the norm is finite; when false the gradients were left untouched and the step should be skipped.
    public var isFinite: Bool { norm.isFinite }
    /// Whether the gradients were scaled down.
    public var clipped: Bool { scale < 1 }
}

/// Global-norm gradient clipping over one flat buffer, as `torch.nn.utils.clip_grad_norm_`.
public enum GradientClipping {
    /// The L2 norm of every element of `gradients` taken together, accumulated in Double.
    ///
    /// Infinite or NaN when some element is not finite.
    public static func globalNorm(_ gradients: ParameterBuffer) -> Double {
        globalNorm(gradients.pointer, count: gradients.count)
    }

    /// The L2 norm of `count` floats at `values`, accumulated in Double with eight independent sums.
    public static func globalNorm(_ values: UnsafePointer<Float>, count: Int) -> Double {
        var lanes = SIMD8<Double>(repeating: 0)
        let whole = count & ~7
        var i = 0
        let raw = UnsafeRawPointer(values)
        while i < whole {
            let x = SIMD8<Double>(raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
            lanes += x * x
            i += 8
        }
        var sum = lanes.sum()
        while i < count {
            let x = Double(values[i])
            sum += x * x
            i += 1
        }
        return sum.squareRoot()
    }

    /// Scales `gradients` in place so their global L2 norm is at most `maxNorm`, and reports the norm before clipping.
    ///
    /// As in PyTorch, the factor is `maxNorm / (norm + 1e-6)`, applied only when it is below 1, so a clipped
    /// buffer's norm lands just under `maxNorm`. Unlike PyTorch, a non-finite norm leaves the gradients
    /// untouched and is reported through `isFinite`, so the trainer can skip the step.
    /// - Parameters:
    ///   - gradients: `[layout.count]`, scaled in place.
    ///   - maxNorm: the largest allowed norm; positive.
    @discardableResult
    public static func clip(_ gradients: ParameterBuffer, maxNorm: Float) -> GradientClipResult {
        precondition(maxNorm > 0, "maxNorm must be positive")
        let norm = globalNorm(gradients)
        guard norm.isFinite else { return GradientClipResult(norm: norm, scale: 1) }
        // PyTorch holds the norm as a Float tensor and divides in Float.
        let coefficient = maxNorm / (Float(norm) + 1e-6)
        guard coefficient < 1 else { return GradientClipResult(norm: norm, scale: 1) }
        let g = gradients.pointer
        for i in 0..<gradients.count { g[i] *= coefficient }
        return GradientClipResult(norm: norm, scale: coefficient)
    }
}
