import Foundation

/// An exponential moving average of the weights, kept beside them during training (Polyak
/// averaging, as AWD-LSTM's averaged SGD and the weight EMA of many image models).
///
/// After each optimizer step, `values += (1 - d) * (weights - values)`. The decay ramps up over the
/// first updates, `d = min(decay, (1 + t) / (10 + t))` with t the updates made before, so the
/// average starts near the weights and early evaluations are not held back by the initial ones.
/// Training goes on from the weights themselves; the average is what is evaluated and saved.
public final class WeightAverage: @unchecked Sendable {
    /// The decay per update once the ramp is over, in (0, 1).
    public let decay: Float
    /// The average, in the weights' layout.
    public let values: ParameterBuffer

    /// An average that starts at `weights`.
    public init(decay: Float, startingFrom weights: ParameterBuffer) {
        precondition(decay > 0 && decay < 1, "the decay of a weight average lies in (0, 1)")
        self.decay = decay
        values = weights.copy()
    }

    /// The decay of the update that follows `updates` earlier ones.
    public func decay(afterUpdates updates: Int) -> Float {
        let t = Double(max(updates, 0))
        return Float(min(Double(decay), (1 + t) / (10 + t)))
    }

    /// Moves the average toward `weights`: the update that follows `updates` earlier ones.
    public func update(toward weights: ParameterBuffer, afterUpdates updates: Int) {
        precondition(weights.count == values.count, "the weights and their average have one layout")
        let share = 1 - decay(afterUpdates: updates)
        let a = values.pointer, w = weights.pointer
        // Each element on its own, so splitting the buffer across threads gives the same bits.
        let count = values.count
        let parts = count >= 1 << 16 ? 2 : 1
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            for i in (count * part / parts)..<(count * (part + 1) / parts) {
                a[i] += share * (w[i] - a[i])
            }
        }
    }
}
