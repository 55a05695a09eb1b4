/// Elapsed wall-clock time in seconds, on the monotonic clock, since the stopwatch was made.
public struct Stopwatch: Sendable {
    private let start = ContinuousClock.now

    /// Starts timing now.
    public init() {}

    /// Seconds since `init`.
    public var seconds: Double { (ContinuousClock.now - start).seconds }
}

extension Duration {
    /// The duration in seconds, with its sub-second part.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) * 1e-18
    }
}
