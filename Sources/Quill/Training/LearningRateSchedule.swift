#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How the learning rate falls after warm-up.
public enum LearningRateDecay: String, Codable, CaseIterable, Sendable {
    /// Constant at the peak after warm-up.
    case none
    /// A straight line from the peak to the floor.
    case linear
    /// Half a cosine from the peak to the floor (as nanoGPT).
    case cosine
    /// Warm-up, stable, decay (as llm.c's WSD): the peak until the last fifth of the steps after
    /// warm-up, then a straight line to the floor; a longer plan moves only the last fifth.
    case wsd
}

/// The learning rate of each step: a linear warm-up to the peak, then a decay to a floor.
///
/// A pure function of the step number, so a resumed run gets exactly the rates it would have had.
/// With W warm-up steps and T total steps, step s (the number of optimizer steps already taken) gets:
/// - `peak * (s + 1) / (W + 1)` for s < W, so the first step is small but not zero;
/// - for W <= s <= T, with r = (s - W) / (T - W): `floor + c(r) * (peak - floor)` where
///   c = (1 + cos(pi r)) / 2 for cosine, 1 - r for linear, 1 for none, and for wsd
///   min(1, (1 - r) / f) with f = `wsdDecayFraction`, the peak until r = 1 - f then a line to the floor;
/// - `floor` after T (or the peak when there is no decay);
/// where `floor = minimumFraction * peak`.
public struct LearningRateSchedule: Codable, Equatable, Sendable {
    /// The largest learning rate, reached at step `warmupSteps`.
    public var peak: Float
    /// Number of warm-up steps (W); 0 starts at the peak.
    public var warmupSteps: Int
    /// The step (T) at which the decay reaches the floor; ignored when `decay` is `.none`.
    public var totalSteps: Int
    /// The shape of the decay.
    public var decay: LearningRateDecay
    /// The floor as a fraction of the peak, in [0, 1].
    public var minimumFraction: Float

    public init(peak: Float, warmupSteps: Int = 0, totalSteps: Int = 0,
                decay: LearningRateDecay = .none, minimumFraction: Float = 0.1) {
        precondition(warmupSteps >= 0, "warmupSteps must be non-negative")
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.decay = decay
        self.minimumFraction = minimumFraction
    }

    /// A constant learning rate.
    public static func constant(_ rate: Float) -> LearningRateSchedule {
        LearningRateSchedule(peak: rate)
    }

    /// The part of the steps after warm-up over which `.wsd` decays.
    public static let wsdDecayFraction = 0.2

    /// `.wsd`: the step at which the decay begins, W + (1 - f)(T - W) rounded down; steps before it
    /// (after warm-up) are at the peak.
    public var wsdDecayStart: Int {
        warmupSteps + Int(Double(totalSteps - warmupSteps) * (1 - Self.wsdDecayFraction))
    }

    /// `.wsd`: the smallest total T at which step `step` is still at the peak, W + (s - W) / (1 - f)
    /// rounded up (at least W + 1).
    public func wsdShortestTotal(stableAt step: Int) -> Int {
        max(warmupSteps + Int((Double(step - warmupSteps) / (1 - Self.wsdDecayFraction)).rounded(.up)), warmupSteps + 1)
    }

    /// The learning rate for the optimizer step that follows `step` steps already taken.
    public func learningRate(atStep step: Int) -> Float {
        let s = max(step, 0)
        let peak = Double(self.peak)
        if s < warmupSteps {
            return Float(peak * Double(s + 1) / Double(warmupSteps + 1))
        }
        let floor = Double(minimumFraction) * peak
        let span = totalSteps - warmupSteps
        switch decay {
        case .none:
            return self.peak
        case .linear, .cosine, .wsd:
            guard span > 0 else { return Float(floor) }
            let r = min(Double(s - warmupSteps) / Double(span), 1)
            let c: Double
            switch decay {
            case .linear: c = 1 - r
            case .wsd: c = min(1, (1 - r) / Self.wsdDecayFraction)
            default: c = 0.5 * (1 + cos(Double.pi * r))
            }
            return Float(floor + c * (peak - floor))
        }
    }
}
