import Foundation
import Quill
import XCTest

/// An independent, plainly written reference for the sampler: Double softmax, sort-based top-k and top-p.
enum SamplingReference {
    /// softmax(logits / T), then top-k (ties at the k-th value keep lower ids), then top-p on the
    /// renormalized result (smallest most-probable prefix with mass >= p), renormalized again.
    static func distribution(_ logits: [Float], temperature: Double, topK: Int = 0, topP: Double = 1) -> [Double] {
        let v = logits.count
        let scaled = logits.map { Double($0) / temperature }
        let m = scaled.max()!
        var p = scaled.map { Foundation.exp($0 - m) }
        // Rank by logit descending, then id ascending: a full sort, no partial selection.
        let order = (0..<v).sorted { logits[$0] != logits[$1] ? logits[$0] > logits[$1] : $0 < $1 }
        if topK > 0 && topK < v {
            for id in order[topK...] { p[id] = 0 }
        }
        var total = p.reduce(0, +)
        p = p.map { $0 / total }
        if topP < 1 {
            var cumulative = 0.0
            var keep = 0
            for id in order {
                keep += 1
                cumulative += p[id]
                if cumulative >= topP { break }
            }
            for id in order[keep...] { p[id] = 0 }
            total = p.reduce(0, +)
            p = p.map { $0 / total }
        }
        return p
    }

    /// The id of the largest value, the lowest id among equal maxima.
    static func argmax(_ logits: [Float]) -> Int32 {
        var best = 0
        for i in logits.indices where logits[i] > logits[best] { best = i }
        return Int32(best)
    }

    /// Critical values of the chi-square distribution at upper-tail probability 0.001, by degrees of freedom.
    ///
    /// From standard tables (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.4). A correct sampler exceeds
    /// one with probability 0.001; the tests are seeded, so the outcome is fixed either way.
    static let chiSquareCritical0001: [Int: Double] = [
        1: 10.828, 2: 13.816, 3: 16.266, 4: 18.467, 5: 20.515, 6: 22.458,
        7: 24.322, 8: 26.124, 9: 27.877, 10: 29.588, 11: 31.264, 12: 32.909,
    ]

    /// Pearson's statistic over the categories with positive expected probability.
    static func chiSquare(counts: [Int], expected p: [Double], draws: Int) -> (statistic: Double, degreesOfFreedom: Int) {
        var statistic = 0.0
        var categories = 0
        for i in counts.indices where p[i] > 0 {
            let e = p[i] * Double(draws)
            statistic += (Double(counts[i]) - e) * (Double(counts[i]) - e) / e
            categories += 1
        }
        return (statistic, categories - 1)
    }

    /// Draws `draws` tokens and counts each id.
    static func counts(_ sampler: TokenSampler, _ logits: [Float], draws: Int, seed: UInt64) -> [Int] {
        var random = QuillRandom(seed: seed)
        var counts = [Int](repeating: 0, count: logits.count)
        logits.withUnsafeBufferPointer { row in
            for _ in 0..<draws { counts[Int(sampler.sample(logits: row.baseAddress!, random: &random))] += 1 }
        }
        return counts
    }

    /// Asserts the draws follow `expected` by chi-square at p = 0.001 and never hit a zero-probability id.
    static func assertDrawsFollow(
        _ sampler: TokenSampler, _ logits: [Float], expected: [Double], draws: Int = 100_000, seed: UInt64,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let counts = counts(sampler, logits, draws: draws, seed: seed)
        for i in counts.indices where expected[i] == 0 {
            XCTAssertEqual(counts[i], 0, "id \(i) has probability 0 but was drawn", file: file, line: line)
        }
        for i in counts.indices where expected[i] > 0 {
            XCTAssertGreaterThanOrEqual(expected[i] * Double(draws), 5, "expected count too small for chi-square", file: file, line: line)
        }
        let (statistic, df) = chiSquare(counts: counts, expected: expected, draws: draws)
        if df == 0 {
            XCTAssertEqual(counts[expected.firstIndex(where: { $0 > 0 })!], draws, file: file, line: line)
            return
        }
        let critical = chiSquareCritical0001[df]!
        XCTAssertLessThan(statistic, critical, "chi-square \(statistic) with df \(df) exceeds \(critical)", file: file, line: line)
    }
}
