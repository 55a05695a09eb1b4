import Quill
import XCTest

/// A resumed run's learning-rate plan: kept as saved, or planned again over a longer run.
final class ScheduleContinuationTests: XCTestCase {
    /// The settings and schedule a fresh run with a step limit saves (the horizon recorded as decaySteps).
    private func savedRun(steps: Int, decaySteps: Int = 0, decay: LearningRateDecay = .cosine) -> (TrainingConfiguration, LearningRateSchedule) {
        var c = TrainingConfiguration()
        c.steps = steps
        c.timeLimit = 0
        c.warmupSteps = 5
        c.decay = decay
        c.decaySteps = decaySteps > 0 ? decaySteps : steps
        return (c, c.learningRateSchedule(windowsPerEpoch: 1000))
    }

    private func limits(steps: Int) -> TrainingConfiguration {
        var c = TrainingConfiguration()
        c.steps = steps
        c.timeLimit = 0
        return c
    }

    func testALargerStepLimitPlansTheDecayAgainOverTheNewTotal() {
        let (saved, schedule) = savedRun(steps: 100)
        let plan = ScheduleContinuation.resuming(saved: saved, schedule: schedule, scheduleFixed: true, step: 100,
                                                 limits: limits(steps: 200), windowsPerEpoch: 1000)
        XCTAssertEqual(plan.change, ScheduleChange(previousEnd: 100, newEnd: 200))
        XCTAssertEqual(plan.configuration.decaySteps, 200)
        XCTAssertEqual(plan.schedule, LearningRateSchedule(peak: saved.learningRate, warmupSteps: 5, totalSteps: 200,
                                                           decay: .cosine, minimumFraction: saved.minimumLearningRateFraction))
        // Between steps 120 and 160 the rate is well above the floor, where the saved plan held it.
        let floor = saved.learningRate * saved.minimumLearningRateFraction
        for step in 120...160 {
            XCTAssertEqual(schedule.learningRate(atStep: step), floor, accuracy: 1e-9)
            XCTAssertGreaterThan(plan.schedule.learningRate(atStep: step), 1.5 * floor, "step \(step)")
        }
        XCTAssertTrue(plan.change!.description.contains("planned again to end at step 200"), plan.change!.description)
    }

    func testAnExplicitDecayHorizonIsKept() {
        let (saved, schedule) = savedRun(steps: 100, decaySteps: 150)
        let plan = ScheduleContinuation.resuming(saved: saved, schedule: schedule, scheduleFixed: true, step: 100,
                                                 limits: limits(steps: 300), windowsPerEpoch: 1000)
        XCTAssertNil(plan.change)
        XCTAssertEqual(plan.schedule, schedule)
        XCTAssertEqual(plan.configuration.decaySteps, 150)
        XCTAssertEqual(plan.configuration.steps, 300)
    }

    func testTheSameLimitOrOneReachedKeepsThePlanBitForBit() {
        let (saved, schedule) = savedRun(steps: 100)
        for (step, newLimit) in [(40, 100), (100, 100), (100, 60)] {
            let plan = ScheduleContinuation.resuming(saved: saved, schedule: schedule, scheduleFixed: true, step: step,
                                                     limits: limits(steps: newLimit), windowsPerEpoch: 1000)
            XCTAssertNil(plan.change, "step \(step), limit \(newLimit)")
            XCTAssertEqual(plan.schedule, schedule)
            XCTAssertEqual(plan.configuration.decaySteps, 100)
        }
    }

    func testGivingTheDecayStepsAgainKeepsThePlan() {
        let (saved, schedule) = savedRun(steps: 100)
        let plan = ScheduleContinuation.resuming(saved: saved, schedule: schedule, scheduleFixed: true, step: 100,
                                                 limits: limits(steps: 200), windowsPerEpoch: 1000, keepPlan: true)
        XCTAssertNil(plan.change)
        XCTAssertEqual(plan.schedule, schedule)
    }

    func testAnEpochLimitPlansAgainInSteps() {
        var saved = TrainingConfiguration()
        saved.epochs = 1
        saved.timeLimit = 0
        saved.warmupSteps = 0
        saved.decaySteps = 50  // one epoch of 50 windows
        let schedule = saved.learningRateSchedule(windowsPerEpoch: 50)
        var given = TrainingConfiguration()
        given.epochs = 3
        given.timeLimit = 0
        let plan = ScheduleContinuation.resuming(saved: saved, schedule: schedule, scheduleFixed: true, step: 50,
                                                 limits: given, windowsPerEpoch: 50)
        XCTAssertEqual(plan.change, ScheduleChange(previousEnd: 50, newEnd: 150))
    }

    func testATimeLimitedRunHandsTheHorizonBackToTheMeasuredSpeed() {
        var saved = TrainingConfiguration()
        saved.timeLimit = 60
        // A time-limited run's horizon came from its speed: the schedule was fixed in the loop, decaySteps stayed 0.
        let schedule = LearningRateSchedule(peak: saved.learningRate, warmupSteps: 100, totalSteps: 900, decay: .cosine)
        var given = TrainingConfiguration()
        given.timeLimit = 120
        let plan = ScheduleContinuation.resuming(saved: saved, schedule: schedule, scheduleFixed: true, step: 900,
                                                 limits: given, windowsPerEpoch: 10_000)
        XCTAssertEqual(plan.change, ScheduleChange(previousEnd: 900, newEnd: nil))
        XCTAssertFalse(plan.scheduleFixed)
        XCTAssertEqual(plan.configuration.timeLimit, 120)
    }

    func testNoDecayHasNothingToPlan() {
        let (saved, schedule) = savedRun(steps: 100, decay: .none)
        let plan = ScheduleContinuation.resuming(saved: saved, schedule: schedule, scheduleFixed: true, step: 100,
                                                 limits: limits(steps: 200), windowsPerEpoch: 1000)
        XCTAssertNil(plan.change)
    }

    func testWSDHoldsThePeakThenFallsInALineOverTheLastFifth() {
        let s = LearningRateSchedule(peak: 1, warmupSteps: 100, totalSteps: 1100, decay: .wsd, minimumFraction: 0.1)
        XCTAssertEqual(s.learningRate(atStep: 100), 1)
        XCTAssertEqual(s.learningRate(atStep: 900), 1)  // 1100 - 0.2 * 1000
        XCTAssertEqual(s.learningRate(atStep: 1000), 0.55, accuracy: 1e-6)  // half way down the line
        XCTAssertEqual(s.learningRate(atStep: 1100), 0.1, accuracy: 1e-6)
        XCTAssertEqual(s.learningRate(atStep: 5000), 0.1, accuracy: 1e-6)
        for step in 901...1100 { XCTAssertLessThan(s.learningRate(atStep: step), s.learningRate(atStep: step - 1)) }
        // A longer plan leaves the stable part as it was: resuming before the decay began changes no rate already given.
        let longer = LearningRateSchedule(peak: 1, warmupSteps: 100, totalSteps: 2100, decay: .wsd, minimumFraction: 0.1)
        for step in 0...900 { XCTAssertEqual(longer.learningRate(atStep: step), s.learningRate(atStep: step)) }
    }
}
