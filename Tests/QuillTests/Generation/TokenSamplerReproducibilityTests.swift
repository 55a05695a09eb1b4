import Quill
import XCTest

final class TokenSamplerReproducibilityTests: XCTestCase {
    let logits: [Float] = (0..<65).map { Float(($0 * 37) % 65) / 13 - 2 }

    func draws(seed: UInt64, settings: SamplingSettings, count: Int = 1000) -> [Int32] {
        let sampler = TokenSampler(vocabularySize: logits.count, settings: settings)
        var random = QuillRandom(seed: seed)
        return (0..<count).map { _ in sampler.sample(logits: logits, random: &random) }
    }

    func testSameSeedGivesSameDrawsAndDifferentSeedsDiffer() throws {
        for settings in [SamplingSettings.unchanged, try SamplingSettings(temperature: 0.8, topK: 20, topP: 0.9)] {
            XCTAssertEqual(draws(seed: 3, settings: settings), draws(seed: 3, settings: settings))
            XCTAssertNotEqual(draws(seed: 3, settings: settings), draws(seed: 4, settings: settings))
        }
    }

    func testEachNonGreedyDrawConsumesExactlyOneUniform() throws {
        // The generator's stream stays aligned whatever the settings, so a resumed run continues exactly.
        for settings in [SamplingSettings.unchanged, try SamplingSettings(topK: 1), try SamplingSettings(topP: 0.5)] {
            let sampler = TokenSampler(vocabularySize: logits.count, settings: settings)
            var used = QuillRandom(seed: 9)
            var reference = QuillRandom(seed: 9)
            for _ in 0..<100 {
                _ = sampler.sample(logits: logits, random: &used)
                _ = reference.nextUnitDouble()
            }
            XCTAssertEqual(used, reference)
        }
    }

    func testDrawIsTheInverseCDFOfTheUniform() {
        // With the uniform known, the drawn id is the first whose cumulative probability passes it.
        let sampler = TokenSampler(vocabularySize: logits.count, settings: .unchanged)
        let p = SamplingReference.distribution(logits, temperature: 1)
        var random = QuillRandom(seed: 77)
        for _ in 0..<2000 {
            var copy = random
            let u = copy.nextUnitDouble()
            let id = Int(sampler.sample(logits: logits, random: &random))
            let below = p[..<id].reduce(0, +)
            XCTAssertLessThanOrEqual(below, u + 1e-6)
            XCTAssertGreaterThan(below + p[id], u - 1e-6)
        }
    }
}
