import Foundation
@testable import Quill
import XCTest

/// A run bounded by time alone finishes its learning-rate decay by the deadline, even when its
/// evaluations take a large share of the time (the trainer's clock is simulated).
final class TimeLimitedScheduleTests: XCTestCase {
    /// Runs a tiny model for `limit` simulated seconds: each step costs 0.1 s, each evaluation `evaluationSeconds`.
    /// Returns every step's learning rate and the peak.
    private func run(evaluationSeconds: Double, decay: LearningRateDecay = .wsd) throws -> (rates: [Float], peak: Float) {
        var random = QuillRandom(seed: 9)
        var tokens: [Int32] = [0]
        for _ in 0..<4000 { tokens.append(Int32(1 + random.next() % 6)) }
        let split = try TrainingSplit.split(tokens: tokens, validationFraction: 0.1)
        var c = TrainingConfiguration.tiny(warmup: 10, evalEvery: 50)
        c.timeLimit = 60
        c.decay = decay
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("quill-time-schedule-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let trainer = try Trainer(configuration: c, training: split.training, validation: split.validation,
                                  vocabulary: Vocabulary(scalars: "abcdef".unicodeScalars), textOptions: TextOptions(),
                                  folder: ModelFolder(folder))
        var steps = 0, evaluations = 0
        trainer.elapsedSecondsForTesting = { Double(steps) * 0.1 + Double(evaluations) * evaluationSeconds }
        var rates: [Float] = []
        let summary = try trainer.run { event in
            switch event {
            case let .step(progress):
                steps = progress.step
                rates.append(progress.learningRate)
            case .evaluated: evaluations += 1
            default: break
            }
        }
        XCTAssertEqual(summary.reason, .timeLimit)
        return (rates, c.learningRate)
    }

    func testTheDecayEndsByTheDeadlineWhenEvaluationsTakeMuchOfTheTime() throws {
        // Steps alone would allow 600 steps; with an evaluation of 3 s every 50 steps the run ends near step 390.
        let (rates, peak) = try run(evaluationSeconds: 3)
        XCTAssertLessThan(rates.count, 420)
        let floor = 0.1 * peak
        XCTAssertEqual(rates.last!, floor, accuracy: floor * 0.01, "the decay was not finished when the time ran out")
        // The rate never rises after the warm-up, and stays at the peak until the decay starts.
        for s in 11..<rates.count { XCTAssertLessThanOrEqual(rates[s], rates[s - 1], "step \(s + 1)") }
        XCTAssertEqual(rates[200], peak)
    }

    func testWithCheapEvaluationsTheDecayAlsoEndsByTheDeadline() throws {
        let (rates, peak) = try run(evaluationSeconds: 0)
        XCTAssertEqual(Double(rates.count), 600, accuracy: 2)
        XCTAssertLessThan(rates.last!, 0.12 * peak, "the decay was not finished when the time ran out")
    }
}
