import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Adam (and, with a weight decay, AdamW) over one flat parameter buffer, following `torch.optim.Adam`'s arithmetic.
///
/// Each call to `step` does, for every scalar, in this order (t is the new `stepCount`):
/// ```
/// p = p * (1 - lr * weightDecay)                // AdamW's decoupled decay; skipped in effect when weightDecay is 0
/// m = m + (1 - beta1) * (g - m)                 // torch's lerp(m, g, 1 - beta1)
/// v = v * beta2 + (1 - beta2) * g * g
/// denom = sqrt(v) / sqrt(1 - beta2^t) + eps
/// p = p - (lr / (1 - beta1^t)) * (m / denom)
/// ```
/// The bias corrections and the step size are computed in Double, as PyTorch computes them in
/// Python floats, then used as Float in one fused pass over the buffer.
///
/// Weight decay, when asked, applies to every parameter (embedding, LSTM weights and biases,
/// decoder), as `torch.optim.AdamW(model.parameters(), ...)` does when given all parameters in one group.
public final class AdamOptimizer {
    /// First-moment estimates, one per parameter.
    public let m: ParameterBuffer
    /// Second-moment estimates, one per parameter.
    public let v: ParameterBuffer
    /// Number of steps taken so far; the bias corrections of the next step use `stepCount + 1`.
    public var stepCount: Int
    /// Decay rate of the first moment; default 0.9.
    public let beta1: Double
    /// Decay rate of the second moment; default 0.999.
    public let beta2: Double
    /// Added to the denominator for numerical stability; default 1e-8.
    public let epsilon: Double
    /// Decoupled weight decay per unit of learning rate (AdamW); 0 gives plain Adam.
    public let weightDecay: Double

    /// An optimizer with zero moments for parameters of `layout`.
    ///
    /// - Precondition: `0 <= beta1 < 1`, `0 <= beta2 < 1`, `epsilon > 0`, `weightDecay >= 0`
    ///   (user values are checked earlier by `TrainingConfiguration.validate()`).
    public init(layout: ParameterLayout, beta1: Double = 0.9, beta2: Double = 0.999,
                epsilon: Double = 1e-8, weightDecay: Double = 0) {
        precondition(beta1 >= 0 && beta1 < 1, "beta1 must be in [0, 1)")
        precondition(beta2 >= 0 && beta2 < 1, "beta2 must be in [0, 1)")
        precondition(epsilon > 0 && epsilon.isFinite, "epsilon must be positive")
        precondition(weightDecay >= 0 && weightDecay.isFinite, "weightDecay must be non-negative")
        m = ParameterBuffer(layout: layout)
        v = ParameterBuffer(layout: layout)
        stepCount = 0
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    /// An optimizer with the hyperparameters of a training configuration.
    public convenience init(layout: ParameterLayout, configuration: TrainingConfiguration) {
        self.init(layout: layout, beta1: configuration.beta1, beta2: configuration.beta2,
                  epsilon: configuration.epsilon, weightDecay: configuration.weightDecay)
    }

    /// Sets the moments to zero and the step count to 0, as for a fresh run.
    public func reset() {
        m.zero()
        v.zero()
        stepCount = 0
    }

    /// Takes one Adam step: updates `weights` in place from `gradients` and advances `stepCount`.
    ///
    /// No allocation; one pass over the buffers.
    /// - Parameters:
    ///   - weights: the parameters, updated in place; `[layout.count]`.
    ///   - gradients: the gradient of the loss for each parameter; `[layout.count]`, read only.
    ///   - learningRate: this step's learning rate (from `LearningRateSchedule`).
    public func step(weights: ParameterBuffer, gradients: ParameterBuffer, learningRate: Float) {
        precondition(weights.count == m.count && gradients.count == m.count,
                     "Adam: weights, gradients and moments must have the same layout")
        stepCount += 1
        let t = Double(stepCount)
        let lr = Double(learningRate)
        let biasCorrection1 = 1 - pow(beta1, t)
        let biasCorrection2 = 1 - pow(beta2, t)
        let negativeStepSize = Float(-(lr / biasCorrection1))
        let biasCorrection2Root = Float(biasCorrection2.squareRoot())
        let decayFactor = Float(1 - lr * weightDecay)
        let lerpWeight = Float(1 - beta1)
        let b2 = Float(beta2)
        let oneMinusB2 = Float(1 - beta2)
        let eps = Float(epsilon)
        // torch's lerp uses `start + w * (end - start)` for w < 0.5 and `end - (end - start) * (1 - w)` otherwise.
        let smallWeight = lerpWeight < 0.5
        let oneMinusLerpWeight = 1 - lerpWeight

        let p = weights.pointer
        let g = gradients.pointer
        let mp = m.pointer
        let vp = v.pointer
        // Every element is updated on its own, so splitting the buffer across threads gives the
        // same bits as one pass; large models split in two, as the engine uses two cores.
        let count = m.count
        let parts = count >= 1 << 16 ? 2 : 1
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let start = count * part / parts, end = count * (part + 1) / parts
            for i in start..<end {
                let gi = g[i]
                let pi = p[i] * decayFactor
                let mOld = mp[i]
                let mi = smallWeight ? mOld + lerpWeight * (gi - mOld) : gi - (gi - mOld) * oneMinusLerpWeight
                let vi = vp[i] * b2 + oneMinusB2 * gi * gi
                let denom = vi.squareRoot() / biasCorrection2Root + eps
                mp[i] = mi
                vp[i] = vi
                p[i] = pi + negativeStepSize * (mi / denom)
            }
        }
    }
}
