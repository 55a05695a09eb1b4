import Foundation
import XCTest
@testable import Quill

final class EvaluationAndTrainingAPITests: XCTestCase {
    func testEvaluateScoresEveryCharacterAndTheEndLikeAnIndependentForward() throws {
        let model = APIFixtures.model()
        let text = "the cat sat\nwe rode"
        let result = try model.evaluate(text)
        let ids = try model.encode(text)
        XCTAssertEqual(result.count, ids.count + 1)
        // The reference: a plain Double forward over [DOC] text, scored against text [DOC].
        let inputs = [Vocabulary.documentID] + ids
        let targets = ids + [Vocabulary.documentID]
        let state = RecurrentState(configuration: model.configuration, batch: 1)
        let reference = ReferenceForward(model: model.languageModel, inputs: inputs, batch: 1, seq: inputs.count, state: state)
        let expected = reference.crossEntropy(targets: targets, vocabularySize: model.configuration.vocabularySize)
        XCTAssertEqual(result.totalNats, expected, accuracy: 1e-4 * expected)
    }

    func testEvaluateNamesAnUnknownCharacter() {
        XCTAssertThrowsError(try APIFixtures.model().evaluate("tea?")) { error in
            guard case let .unknownCharacter(name, position) = error as? QuillError else { return XCTFail("\(error)") }
            XCTAssertTrue(name.contains("U+003F"), name)
            XCTAssertEqual(position, 3)
        }
    }

    private func corpus(in folder: URL) throws -> CorpusSource {
        let url = folder.appendingPathComponent("corpus.txt")
        var text = ""
        var random = QuillRandom(seed: 4)
        let words = ["the", "cat", "sat", "on", "a", "mat", "and", "was", "glad"]
        for _ in 0..<3000 { text += words[Int(random.next() % UInt64(words.count))] + (random.next() % 9 == 0 ? "\n" : " ") }
        try Data(text.utf8).write(to: url)
        return CorpusSource(paths: [url])
    }

    private func smallRun(steps: Int) -> TrainingConfiguration {
        TrainingConfiguration.tiny(embed: 8, hidden: 16, seq: 16, steps: steps, warmup: 5, evalEvery: 1000)
    }

    func testTrainingReportsEveryStepAndGivesAModelThatGenerates() async throws {
        let folder = APIFixtures.temporaryFolder("train")
        defer { try? FileManager.default.removeItem(at: folder) }
        var steps: [Int] = []
        let (summary, model) = try await QuillModel.train(corpus: corpus(in: folder), configuration: smallRun(steps: 40),
                                                          folder: folder.appendingPathComponent("out"), precision: .float32) {
            steps.append($0.step)
        }
        XCTAssertEqual(steps, Array(1...40))
        XCTAssertEqual(summary.reason, .stepLimit)
        XCTAssertNotNil(summary.bestValidationLoss)
        XCTAssertEqual(model.configuration.hiddenSize, 16)
        XCTAssertEqual(try model.generate("the", parameters: GenerationParameters(maxLength: 30)).unicodeScalars.count <= 30, true)
        XCTAssertLessThan(try model.evaluate("the cat sat on a mat").natsPerCharacter, log(Double(model.vocabulary.count)))
    }

    func testCancellingTheTaskStopsTrainingAfterSavingAndThrowsCancelled() async throws {
        let folder = APIFixtures.temporaryFolder("cancel")
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = try corpus(in: folder)
        let out = folder.appendingPathComponent("out")
        let configuration = smallRun(steps: 100_000)
        let task = Task { () -> (QuillError?, Int) in
            var last = 0
            do {
                _ = try await QuillModel.train(corpus: source, configuration: configuration, folder: out, precision: .float32) { p in
                    last = p.step
                    if p.step == 7 { withUnsafeCurrentTask { $0?.cancel() } }
                }
                return (nil, last)
            } catch {
                return (error as? QuillError, last)
            }
        }
        let (error, last) = await task.value
        XCTAssertEqual(error, .cancelled)
        XCTAssertEqual(last, 7)
        // The run's state was saved at the step it stopped on, so it can be resumed.
        let checkpoint = try TrainingCheckpoint.read(from: ModelFolder(out).state)
        XCTAssertEqual(checkpoint.step, 7)
    }

    func testAnImpossibleTrainingSetupIsATypedError() async throws {
        let folder = APIFixtures.temporaryFolder("bad")
        defer { try? FileManager.default.removeItem(at: folder) }
        var configuration = smallRun(steps: 5)
        configuration.hiddenSize = 0
        do {
            _ = try await QuillModel.train(corpus: corpus(in: folder), configuration: configuration, folder: folder.appendingPathComponent("out"))
            XCTFail("trained with hidden size 0")
        } catch {
            guard case let .trainingFailed(reason) = error as? QuillError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("hidden"), reason)
        }
        do {
            _ = try await QuillModel.train(corpus: CorpusSource(paths: [folder.appendingPathComponent("missing.txt")]),
                                           configuration: smallRun(steps: 5), folder: folder.appendingPathComponent("out"))
            XCTFail("trained on a missing file")
        } catch {
            guard case .unreadableCorpus = error else { return XCTFail("\(error)") }
        }
    }
}
