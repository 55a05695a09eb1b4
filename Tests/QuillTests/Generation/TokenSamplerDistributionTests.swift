import Quill
import XCTest

final class TokenSamplerDistributionTests: XCTestCase {
    /// Twelve logits with varied gaps, a tie, and a negative tail.
    let logits: [Float] = [0.3, -1.2, 2.1, 0.9, 0.9, -0.4, 1.7, -2.0, 0.0, 1.1, -0.8, 0.5]

    func settings(_ t: Float = 1, k: Int = 0, p: Float = 1) -> SamplingSettings {
        try! SamplingSettings(temperature: t, topK: k, topP: p)
    }

    // MARK: Temperature

    func testDrawsMatchSoftmaxOverTemperatureAtHalfOneAndTwo() {
        // 100,000 draws per temperature; chi-square with df = V - 1 = 11 against 31.264 (p = 0.001).
        for (index, t) in [Float(0.5), 1, 2].enumerated() {
            let sampler = TokenSampler(vocabularySize: logits.count, settings: settings(t))
            let expected = SamplingReference.distribution(logits, temperature: Double(t))
            SamplingReference.assertDrawsFollow(sampler, logits, expected: expected, seed: 100 + UInt64(index))
        }
    }

    func testChiSquareRejectsAWrongTemperature() {
        // The test has power: draws at T = 1 are far from softmax(logits / 1.2).
        let sampler = TokenSampler(vocabularySize: logits.count, settings: settings(1))
        let counts = SamplingReference.counts(sampler, logits, draws: 100_000, seed: 5)
        let wrong = SamplingReference.distribution(logits, temperature: 1.2)
        let (statistic, df) = SamplingReference.chiSquare(counts: counts, expected: wrong, draws: 100_000)
        XCTAssertGreaterThan(statistic, SamplingReference.chiSquareCritical0001[df]!)
    }

    func testProbabilitiesMatchDoubleSoftmaxIncludingHugeAndMaskedLogits() {
        var random = QuillRandom(seed: 11)
        for trial in 0..<200 {
            let v = 1 + Int(random.next() % 300)
            var row = (0..<v).map { _ in Float(random.nextUnitDouble() * 40 - 20) }
            if trial % 3 == 0 { row = row.map { $0 + 1e4 } }  // large logits: exp would overflow without the max shift
            if trial % 5 == 0 && v > 1 { row[Int(random.next() % UInt64(v))] = -.infinity }
            let t = Float([0.05, 0.7, 1, 3][trial % 4])
            let sampler = TokenSampler(vocabularySize: v, settings: settings(t))
            let got = sampler.probabilities(logits: row)
            let want = SamplingReference.distribution(row, temperature: Double(t))
            for i in 0..<v {
                XCTAssertEqual(Double(got[i]), want[i], accuracy: 2e-6 + 2e-5 * want[i], "trial \(trial) id \(i)")
            }
        }
    }

    func testExtremeTemperaturesGiveArgmaxOrUniformWithoutNaN() {
        // 1e-39 is subnormal, so 1/T overflows and the sampler divides instead; V = 13 also has a tail.
        let row: [Float] = logits + [2.0]
        let cold = TokenSampler(vocabularySize: row.count, settings: settings(1e-39))
        let coldP = cold.probabilities(logits: row)
        XCTAssertEqual(coldP, (0..<row.count).map { $0 == 2 ? 1 : 0 })  // 2.1 at id 2 is the maximum
        var random = QuillRandom(seed: 13)
        for _ in 0..<100 { XCTAssertEqual(cold.sample(logits: row, random: &random), 2) }
        let hot = TokenSampler(vocabularySize: row.count, settings: settings(1e30))
        for q in hot.probabilities(logits: row) { XCTAssertEqual(q, 1 / Float(row.count), accuracy: 1e-6) }
    }

    func testMaskedLogitsAreNeverDrawn() {
        var row = logits
        row[2] = -.infinity
        row[6] = -.infinity
        let sampler = TokenSampler(vocabularySize: row.count, settings: settings(1))
        let expected = SamplingReference.distribution(row, temperature: 1)
        XCTAssertEqual(expected[2], 0)
        SamplingReference.assertDrawsFollow(sampler, row, expected: expected, seed: 12)
    }

    // MARK: Top-k

    func testTopKKeepsExactlyTheKLargestAndRenormalizes() {
        // The four largest are ids 2, 6, 9 and one of the tied 0.9s (3 and 4): the lower id, 3, is kept.
        let sampler = TokenSampler(vocabularySize: logits.count, settings: settings(1, k: 4))
        let probabilities = sampler.probabilities(logits: logits)
        XCTAssertEqual(Set(probabilities.indices.filter { probabilities[$0] > 0 }), [2, 6, 9, 3])
        let expected = SamplingReference.distribution(logits, temperature: 1, topK: 4)
        XCTAssertEqual(expected.filter { $0 > 0 }.count, 4)
        // df = 3, critical 16.266; ids outside the four are never drawn.
        SamplingReference.assertDrawsFollow(sampler, logits, expected: expected, seed: 21)
    }

    func testTopKAtOrAboveVocabularyKeepsEverything() {
        for k in [logits.count, logits.count + 5] {
            let sampler = TokenSampler(vocabularySize: logits.count, settings: settings(1, k: k))
            XCTAssertTrue(sampler.probabilities(logits: logits).allSatisfy { $0 > 0 })
        }
    }

    func testTopKMatchesSortReferenceOnRandomRows() {
        var random = QuillRandom(seed: 22)
        for trial in 0..<300 {
            let v = 2 + Int(random.next() % 100)
            // Few distinct values, so ties at the k-th value are common.
            let row = (0..<v).map { _ in Float(Int(random.next() % 7)) * 0.5 }
            let k = 1 + Int(random.next() % UInt64(v))
            let sampler = TokenSampler(vocabularySize: v, settings: settings(0.8, k: k))
            let got = sampler.probabilities(logits: row)
            let want = SamplingReference.distribution(row, temperature: 0.8, topK: k)
            XCTAssertEqual(got.filter { $0 > 0 }.count, k, "trial \(trial)")
            for i in 0..<v {
                XCTAssertEqual(got[i] > 0, want[i] > 0, "trial \(trial) id \(i)")
                XCTAssertEqual(Double(got[i]), want[i], accuracy: 1e-5)
            }
        }
    }

    // MARK: Top-p

    /// Probabilities 1/2, 1/4, 1/8, 1/16, 1/32, 1/32 scattered over ids, so cumulative sums are exact.
    let halvingLogits: [Float] = {
        var row = [Float](repeating: 0, count: 6)
        let ids = [4, 1, 5, 0, 3, 2]
        let p: [Double] = [0.5, 0.25, 0.125, 0.0625, 0.03125, 0.03125]
        for (id, q) in zip(ids, p) { row[id] = Float(Foundation.log(q)) }
        return row
    }()

    func testTopPKeepsTheSmallestNucleus() {
        // Nucleus ids in order of probability: 4 (0.5), 1 (0.75), 5 (0.875), 0 (0.9375), then 2 and 3,
        // tied at 1/32: the lower id, 2, ranks first, so p = 0.95 keeps 2 but not 3.
        let cases: [(p: Float, kept: Set<Int>)] = [
            (1e-6, [4]), (0.3, [4]), (0.6, [4, 1]), (0.8, [4, 1, 5]), (0.9, [4, 1, 5, 0]),
            (0.95, [4, 1, 5, 0, 2]), (1, [0, 1, 2, 3, 4, 5]),
        ]
        for (p, kept) in cases {
            let sampler = TokenSampler(vocabularySize: 6, settings: settings(1, p: p))
            let probabilities = sampler.probabilities(logits: halvingLogits)
            XCTAssertEqual(Set(probabilities.indices.filter { probabilities[$0] > 0 }), kept, "p = \(p)")
            let reference = SamplingReference.distribution(halvingLogits, temperature: 1, topP: Double(p))
            XCTAssertEqual(Set(reference.indices.filter { reference[$0] > 0 }), kept, "reference, p = \(p)")
        }
    }

    func testTopPDrawsFollowTheRenormalizedNucleus() {
        // p = 0.8 keeps ids 4, 1, 5 with weights 4:2:1; df = 2, critical 13.816.
        let sampler = TokenSampler(vocabularySize: 6, settings: settings(1, p: 0.8))
        var expected = [Double](repeating: 0, count: 6)
        expected[4] = 4.0 / 7; expected[1] = 2.0 / 7; expected[5] = 1.0 / 7
        SamplingReference.assertDrawsFollow(sampler, halvingLogits, expected: expected, seed: 31)
        // A tiny p leaves only the most probable token.
        let single = TokenSampler(vocabularySize: 6, settings: settings(1, p: 1e-6))
        XCTAssertEqual(SamplingReference.counts(single, halvingLogits, draws: 1000, seed: 32)[4], 1000)
    }

    func testTopPAppliesAfterTemperature() {
        // At T = 2 the halving row becomes about 0.38, 0.27, 0.19, ...: p = 0.6 now needs three tokens.
        let sampler = TokenSampler(vocabularySize: 6, settings: settings(2, p: 0.6))
        let probabilities = sampler.probabilities(logits: halvingLogits)
        XCTAssertEqual(Set(probabilities.indices.filter { probabilities[$0] > 0 }), [4, 1, 5])
    }

    // MARK: Top-k with top-p

    func testTopPWorksOnTheTopKRenormalizedDistribution() {
        // Probabilities 0.4, 0.3, 0.2, 0.1 (ids 3, 0, 2, 1). Top-k 2 renormalizes to 4/7, 3/7, so
        // top-p 0.5 keeps one token, though on the full distribution 0.5 would need two.
        var row = [Float](repeating: 0, count: 4)
        for (id, q) in zip([3, 0, 2, 1], [0.4, 0.3, 0.2, 0.1]) { row[id] = Float(Foundation.log(q)) }
        let one = TokenSampler(vocabularySize: 4, settings: settings(1, k: 2, p: 0.5))
        let p1 = one.probabilities(logits: row)
        XCTAssertEqual(p1, [0, 0, 0, 1])
        let two = TokenSampler(vocabularySize: 4, settings: settings(1, k: 2, p: 0.6))
        XCTAssertEqual(Set(two.probabilities(logits: row).indices.filter { two.probabilities(logits: row)[$0] > 0 }), [3, 0])
        let expected = SamplingReference.distribution(row, temperature: 1, topK: 2, topP: 0.6)
        XCTAssertEqual(expected[3], 4.0 / 7, accuracy: 1e-6)
        SamplingReference.assertDrawsFollow(two, row, expected: expected, seed: 41)  // df = 1, critical 10.828
        let onlyP = TokenSampler(vocabularySize: 4, settings: settings(1, p: 0.5))
        XCTAssertEqual(onlyP.probabilities(logits: row).filter { $0 > 0 }.count, 2)
    }

    func testCombinedTopKTopPMatchesReferenceOnRandomRows() {
        var random = QuillRandom(seed: 42)
        for trial in 0..<300 {
            let v = 2 + Int(random.next() % 80)
            let row = (0..<v).map { _ in Float(random.nextUnitDouble() * 8 - 4) }
            let k = Int(random.next() % UInt64(v + 1))
            let p = Float(0.05 + 0.95 * random.nextUnitDouble())
            let t = Float(0.3 + 2 * random.nextUnitDouble())
            let sampler = TokenSampler(vocabularySize: v, settings: settings(t, k: k, p: p))
            let got = sampler.probabilities(logits: row)
            let want = SamplingReference.distribution(row, temperature: Double(t), topK: k, topP: Double(p))
            for i in 0..<v {
                XCTAssertEqual(got[i] > 0, want[i] > 0, "trial \(trial) id \(i)")
                XCTAssertEqual(Double(got[i]), want[i], accuracy: 1e-5)
            }
        }
    }

    func testCombinedTopKTopPDrawsFollowReference() {
        // k = 6 then p = 0.7 on the twelve-logit row at T = 0.9.
        let sampler = TokenSampler(vocabularySize: logits.count, settings: settings(0.9, k: 6, p: 0.7))
        let expected = SamplingReference.distribution(logits, temperature: 0.9, topK: 6, topP: 0.7)
        XCTAssertGreaterThan(expected.filter { $0 > 0 }.count, 1)
        XCTAssertLessThan(expected.filter { $0 > 0 }.count, 6)
        SamplingReference.assertDrawsFollow(sampler, logits, expected: expected, seed: 43)
    }

    // MARK: Greedy

    func testTemperatureZeroTopKOneAndArgmaxAgree() {
        var random = QuillRandom(seed: 51)
        for trial in 0..<2000 {
            let v = 1 + Int(random.next() % 200)
            // Coarse values give frequent ties for the maximum.
            let row = (0..<v).map { _ in Float(Int(random.next() % 9)) - 4 }
            let want = SamplingReference.argmax(row)
            let greedy = TokenSampler(vocabularySize: v, settings: settings(0))
            let topOne = TokenSampler(vocabularySize: v, settings: settings(1.3, k: 1))
            var generator = QuillRandom(seed: UInt64(trial))
            let before = generator
            XCTAssertEqual(greedy.sample(logits: row, random: &generator), want, "trial \(trial)")
            XCTAssertEqual(generator, before, "greedy decoding consumed randomness")
            XCTAssertEqual(topOne.sample(logits: row, random: &generator), want, "trial \(trial)")
            XCTAssertEqual(greedy.probabilities(logits: row)[Int(want)], 1)
        }
    }
}
