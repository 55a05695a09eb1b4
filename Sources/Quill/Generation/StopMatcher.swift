/// Watches generated scalars and reports when the text ends with one of the stop strings.
///
/// Matching is on Unicode scalars, so the stop strings must be normalized the way the model's text
/// is (NFC by default) before they are given here, exactly as prompts are. Only generated text is
/// watched, never the prompt. Each stop string runs its own Knuth-Morris-Pratt automaton, so a
/// scalar costs amortized constant time per stop string and a match spanning any number of
/// generated tokens is found.
public struct StopMatcher {
    /// - patterns: one scalar-value array per stop string.
    private let patterns: [[UInt32]]
    /// - borders: for each pattern, `borders[i]` = length of the longest proper border of `pattern[0...i]`.
    private let borders: [[Int]]
    /// - states: for each pattern, how many of its leading scalars the text currently ends with.
    private var states: [Int]

    /// A matcher for the given stop strings (none is allowed: it then never matches).
    ///
    /// - Throws: `SamplingError.emptyStopString` if a stop string is empty.
    public init(stops: [String]) throws {
        var patterns: [[UInt32]] = []
        var borders: [[Int]] = []
        for stop in stops {
            let pattern = stop.unicodeScalars.map(\.value)
            guard !pattern.isEmpty else { throw SamplingError.emptyStopString }
            var border = [Int](repeating: 0, count: pattern.count)
            var k = 0
            for i in 1..<pattern.count {
                while k > 0 && pattern[i] != pattern[k] { k = border[k - 1] }
                if pattern[i] == pattern[k] { k += 1 }
                border[i] = k
            }
            patterns.append(pattern)
            borders.append(border)
        }
        self.patterns = patterns
        self.borders = borders
        states = [Int](repeating: 0, count: patterns.count)
    }

    /// The longest end of the text that is the start of some stop string (and so must be held back).
    public var partialMatchLength: Int { states.max() ?? 0 }

    /// Adds one generated scalar.
    ///
    /// - Returns: the length in scalars of the stop string the text now ends with (the longest if
    ///   several end here), or nil.
    public mutating func append(_ scalar: Unicode.Scalar) -> Int? {
        let c = scalar.value
        var matched: Int?
        for p in patterns.indices {
            let pattern = patterns[p]
            var q = states[p]
            while q > 0 && pattern[q] != c { q = borders[p][q - 1] }
            if pattern[q] == c { q += 1 }
            if q == pattern.count {
                matched = max(matched ?? 0, q)
                q = borders[p][q - 1]
            }
            states[p] = q
        }
        return matched
    }

    /// Forgets the text seen so far, as before a new sample.
    public mutating func reset() {
        for p in states.indices { states[p] = 0 }
    }
}
