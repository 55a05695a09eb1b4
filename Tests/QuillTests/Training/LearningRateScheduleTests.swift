import Foundation
import Quill
import XCTest

final class LearningRateScheduleTests: XCTestCase {
    func testWarmupStartsLowAndReachesPeakAtWarmupSteps() {
        let s = LearningRateSchedule(peak: 2e-3, warmupSteps: 100, totalSteps: 1000, decay: .cosine, minimumFraction: 0.1)
        XCTAssertEqual(s.learningRate(atStep: 0), 2e-3 / 101, accuracy: 1e-9)
        XCTAssertLessThan(s.learningRate(atStep: 0), 2e-3 * 0.02)
        XCTAssertGreaterThan(s.learningRate(atStep: 0), 0)
        for step in 1...100 {
            XCTAssertGreaterThan(s.learningRate(atStep: step), s.learningRate(atStep: step - 1), "step \(step)")
        }
        XCTAssertEqual(s.learningRate(atStep: 100), 2e-3)
    }

    func testDecayFallsMonotonicallyToTheFloorAtTotalSteps() {
        for decay in [LearningRateDecay.cosine, .linear] {
            let s = LearningRateSchedule(peak: 1e-2, warmupSteps: 50, totalSteps: 550, decay: decay, minimumFraction: 0.1)
            for step in 51...600 {
                XCTAssertLessThanOrEqual(s.learningRate(atStep: step), s.learningRate(atStep: step - 1), "\(decay) \(step)")
            }
            XCTAssertLessThan(s.learningRate(atStep: 300), 1e-2)
            XCTAssertEqual(s.learningRate(atStep: 550), 1e-3, accuracy: 1e-9)
            XCTAssertEqual(s.learningRate(atStep: 10_000), 1e-3, accuracy: 1e-9)
        }
        // Shapes: halfway down a cosine is the mean of peak and floor; a quarter down a line is 3/4 of the way up.
        let cosine = LearningRateSchedule(peak: 1, warmupSteps: 0, totalSteps: 400, decay: .cosine, minimumFraction: 0.2)
        XCTAssertEqual(cosine.learningRate(atStep: 200), 0.6, accuracy: 1e-6)
        XCTAssertEqual(cosine.learningRate(atStep: 100), Float(0.2 + 0.8 * 0.5 * (1 + cos(Double.pi / 4))), accuracy: 1e-6)
        let linear = LearningRateSchedule(peak: 1, warmupSteps: 0, totalSteps: 400, decay: .linear, minimumFraction: 0.2)
        XCTAssertEqual(linear.learningRate(atStep: 100), 0.8, accuracy: 1e-6)
    }

    func testNoDecayIsConstantAfterWarmup() {
        let s = LearningRateSchedule(peak: 3e-3, warmupSteps: 10, totalSteps: 100, decay: .none)
        for step in [10, 11, 99, 100, 5000] { XCTAssertEqual(s.learningRate(atStep: step), 3e-3) }
        XCTAssertEqual(LearningRateSchedule.constant(2e-3).learningRate(atStep: 0), 2e-3)
    }

    func testScheduleIsAPureFunctionOfStepAcrossASaveAndRestore() throws {
        let s = LearningRateSchedule(peak: 2e-3, warmupSteps: 30, totalSteps: 300, decay: .cosine, minimumFraction: 0.05)
        let restored = try JSONDecoder().decode(LearningRateSchedule.self, from: JSONEncoder().encode(s))
        XCTAssertEqual(restored, s)
        // Visiting steps in any order, repeatedly, gives one value per step.
        let forward = (0...320).map { s.learningRate(atStep: $0) }
        let backward = (0...320).reversed().map { restored.learningRate(atStep: $0) }.reversed()
        XCTAssertEqual(forward, Array(backward))
    }

    func testConfigurationBuildsTheScheduleFromItsLimits() {
        var c = TrainingConfiguration()
        c.steps = 2000
        XCTAssertEqual(c.learningRateSchedule(windowsPerEpoch: 490).totalSteps, 2000)
        c.epochs = 2
        XCTAssertEqual(c.learningRateSchedule(windowsPerEpoch: 490).totalSteps, 980)
        c.steps = 0
        XCTAssertEqual(c.learningRateSchedule(windowsPerEpoch: 490).totalSteps, 980)
        c.epochs = 0
        c.timeLimit = 600
        let timed = c.learningRateSchedule(windowsPerEpoch: 490)
        XCTAssertEqual(timed.decay, .none)
        XCTAssertEqual(timed.learningRate(atStep: 100_000), c.learningRate)
    }

    func testTheWSDDecayStartAndShortestTotalAgreeWithTheRates() {
        for total in [11, 37, 100, 1234] {
            let schedule = LearningRateSchedule(peak: 1, warmupSteps: 10, totalSteps: total, decay: .wsd)
            let start = schedule.wsdDecayStart
            for s in 10...start { XCTAssertEqual(schedule.learningRate(atStep: s), 1, "total \(total), step \(s)") }
            if start + 1 <= total { XCTAssertLessThan(schedule.learningRate(atStep: start + 1), 1, "total \(total)") }
        }
        for step in [10, 11, 50, 333] {
            let base = LearningRateSchedule(peak: 1, warmupSteps: 10, totalSteps: 0, decay: .wsd)
            let shortest = base.wsdShortestTotal(stableAt: step)
            var fits = base, shorter = base
            fits.totalSteps = shortest
            shorter.totalSteps = shortest - 1
            XCTAssertEqual(fits.learningRate(atStep: step), 1, "step \(step)")
            if shortest - 1 > 10 { XCTAssertLessThan(shorter.learningRate(atStep: step), 1, "step \(step)") }
        }
    }
}
