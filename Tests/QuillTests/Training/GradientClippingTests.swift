import Quill
import XCTest

final class GradientClippingTests: XCTestCase {
    /// A naive Double sum of squares, element by element.
    func referenceNorm(_ values: [Float]) -> Double {
        var sum = 0.0
        for x in values { sum += Double(x) * Double(x) }
        return sum.squareRoot()
    }

    func testGlobalNormMatchesDoubleReference() {
        // 344 elements: the eight-wide loop and a scalar tail (344 = 43 * 8, so also try an odd view).
        let layout = TrainingTestLayouts.small
        var random = QuillRandom(seed: 21)
        let values = TrainingTestLayouts.spread(layout.count, &random)
        let g = TrainingTestLayouts.buffer(layout, values)
        XCTAssertEqual(GradientClipping.globalNorm(g), referenceNorm(values), accuracy: referenceNorm(values) * 1e-12)
        let odd = 339
        XCTAssertEqual(GradientClipping.globalNorm(g.pointer, count: odd), referenceNorm(Array(values[0..<odd])),
                       accuracy: referenceNorm(values) * 1e-12)
        XCTAssertEqual(GradientClipping.globalNorm(g.pointer, count: 3), referenceNorm(Array(values[0..<3])),
                       accuracy: 1e-12)
    }

    func testClippingAboveTheLimitBringsTheNormToMaxNorm() {
        let layout = TrainingTestLayouts.small
        var random = QuillRandom(seed: 22)
        let values = (0..<layout.count).map { _ in random.nextUnitFloat() * 2 - 1 }
        let g = TrainingTestLayouts.buffer(layout, values)
        let before = referenceNorm(values)
        XCTAssertGreaterThan(before, 5)
        let result = GradientClipping.clip(g, maxNorm: 5)
        XCTAssertEqual(result.norm, before, accuracy: before * 1e-12)
        XCTAssertTrue(result.isFinite)
        XCTAssertTrue(result.clipped)
        let after = referenceNorm(Array(g.elements))
        XCTAssertEqual(after, 5, accuracy: 5 * 1e-5)
        // Every element is scaled by the one reported factor.
        for i in 0..<layout.count {
            XCTAssertEqual(g.pointer[i], values[i] * result.scale)
        }
    }

    func testClippingBelowTheLimitLeavesGradientsUnchanged() {
        let layout = TrainingTestLayouts.small
        var random = QuillRandom(seed: 23)
        let values = (0..<layout.count).map { _ in (random.nextUnitFloat() * 2 - 1) * 0.01 }
        let g = TrainingTestLayouts.buffer(layout, values)
        let result = GradientClipping.clip(g, maxNorm: 5)
        XCTAssertEqual(result.scale, 1)
        XCTAssertFalse(result.clipped)
        XCTAssertEqual(result.norm, referenceNorm(values), accuracy: 1e-12)
        XCTAssertEqual(Array(g.elements), values)
    }

    func testNonFiniteGradientsAreReportedAndLeftUntouched() {
        let layout = TrainingTestLayouts.tiny
        for bad in [Float.nan, Float.infinity, -Float.infinity] {
            var values = [Float](repeating: 0.5, count: layout.count)
            values[13] = bad
            let g = TrainingTestLayouts.buffer(layout, values)
            let result = GradientClipping.clip(g, maxNorm: 1)
            XCTAssertFalse(result.isFinite, "\(bad)")
            XCTAssertEqual(result.scale, 1)
            XCTAssertEqual(g.pointer[0], 0.5)
        }
        // Finite floats whose squares overflow Float still give a finite norm in Double.
        let big = TrainingTestLayouts.buffer(layout, [Float](repeating: 1e30, count: layout.count))
        let result = GradientClipping.clip(big, maxNorm: 1)
        XCTAssertTrue(result.isFinite)
        XCTAssertEqual(result.norm, 1e30 * Double(layout.count).squareRoot(), accuracy: 1e24)
    }

    func testMatchesPyTorchClipGradNorm() throws {
        let fixture = try TorchOptimizerFixture.load()
        let layout = TrainingTestLayouts.tiny
        XCTAssertEqual(fixture.clip.count, 2)
        for c in fixture.clip {
            let g = TrainingTestLayouts.buffer(layout, c.gradients)
            let result = GradientClipping.clip(g, maxNorm: c.max_norm)
            XCTAssertEqual(result.norm, c.norm, accuracy: c.norm * 1e-6, c.name)
            for i in 0..<layout.count {
                assertClose(g.pointer[i], Double(c.clipped[i]), relative: 1e-6, floor: 1e-3, "\(c.name) \(i)")
            }
        }
    }
}
