/// The printable text of one sample as its scalars arrive: whole grapheme clusters, stop strings cut off.
///
/// Scalars that might begin a stop string are held back until they are shown not to, so the output
/// never includes a stop string, as in the Hugging Face and PyTorch generation tools; on a match the
/// text before the stop string is released in full and `stopped` becomes true. Everything released
/// goes through a `GraphemeStreamer`, so a piece never ends inside a grapheme cluster, except where
/// a stop string itself starts inside one (possible only with decomposed normalization).
public struct GeneratedTextStream {
    private var graphemes = GraphemeStreamer()
    private var matcher: StopMatcher
    /// Generated scalars not yet passed on, because they may be the start of a stop string.
    private var held: [Unicode.Scalar] = []
    /// True once the text has ended with a stop string; nothing more may be appended.
    public private(set) var stopped = false

    /// A stream that ends at any of `stops` (already normalized like the model's text).
    ///
    /// - Throws: `SamplingError.emptyStopString` if a stop string is empty.
    public init(stops: [String]) throws {
        matcher = try StopMatcher(stops: stops)
    }

    /// Adds one generated scalar and returns the text now safe to print (often empty).
    public mutating func append(_ scalar: Unicode.Scalar) -> String {
        precondition(!stopped, "the text already ended with a stop string")
        held.append(scalar)
        var out = ""
        if let length = matcher.append(scalar) {
            held.removeLast(length)
            for s in held { out += graphemes.append(s) }
            out += graphemes.finish()
            held.removeAll()
            stopped = true
            return out
        }
        let release = held.count - matcher.partialMatchLength
        guard release > 0 else { return out }
        for s in held[..<release] { out += graphemes.append(s) }
        held.removeFirst(release)
        return out
    }

    /// Releases everything still held, as generation has ended without a stop string.
    public mutating func finish() -> String {
        var out = ""
        for s in held { out += graphemes.append(s) }
        held.removeAll()
        return out + graphemes.finish()
    }
}
