/// Collects generated Unicode scalars and hands out text only in whole extended grapheme clusters.
///
/// A cluster's end is known only once the scalar after it arrives (an `e` may still gain a combining
/// accent, a flag needs its second regional indicator, a family emoji grows through each zero-width
/// joiner), so the streamer keeps the last, possibly unfinished cluster pending and releases
/// everything before it. Segmentation is Swift's own `Character` segmentation (Unicode's extended
/// grapheme clusters), whose break decisions depend only on the text before a position and the
/// scalar right after it, so a released boundary never moves. `finish()` releases the rest.
///
/// Cost per scalar is proportional to the pending cluster, which is short in any real text.
public struct GraphemeStreamer {
    /// The last cluster, which later scalars may still extend.
    private var pending = String()

    /// An empty streamer.
    public init() {}

    /// The text held back because its last cluster may still grow.
    public var pendingText: String { pending }

    /// Adds one scalar and returns the clusters it showed to be complete (often empty).
    public mutating func append(_ scalar: Unicode.Scalar) -> String {
        pending.unicodeScalars.append(scalar)
        let lastStart = pending.index(before: pending.endIndex)
        guard lastStart > pending.startIndex else { return "" }
        let released = String(pending[..<lastStart])
        pending = String(pending[lastStart...])
        return released
    }

    /// Releases whatever is pending, as the text has ended.
    public mutating func finish() -> String {
        defer { pending = String() }
        return pending
    }
}
