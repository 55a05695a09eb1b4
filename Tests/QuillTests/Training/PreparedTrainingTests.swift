import Foundation
import XCTest
@testable import Quill

/// Training from a prepared folder against training from the same text in memory.
final class PreparedTrainingTests: XCTestCase {
    private var folder: TemporaryFolder!

    override func setUpWithError() throws { folder = try TemporaryFolder() }
    override func tearDown() { folder = nil }

    private func configuration(steps: Int) -> TrainingConfiguration {
        TrainingConfiguration.tiny(embed: 8, hidden: 16, layers: 2, batch: 5, seq: 12, steps: steps, warmup: 2, evalEvery: 4)
    }

    /// The text, its documents cut at `%`, and the same prepared in shards of 97 tokens (so lane windows cross shards).
    private func corpus() throws -> (source: CorpusSource, prepared: PreparedCorpus) {
        let source = CorpusSource(paths: [try folder.write("c.txt", PreparedCorpusTests.sampleText(lines: 150))],
                                  documents: .separatorLine("%"))
        let out = folder.url.appendingPathComponent("prepared")
        try PreparedCorpus.prepare(PrepareOptions(source: source, shardTokens: 97), into: out)
        let prepared = try PreparedCorpus(folder: out)
        try prepared.verify()
        return (source, prepared)
    }

    private func weights(_ trainer: Trainer) -> [UInt32] { trainer.model.weights.elements.map(\.bitPattern) }

    func testTrainingFromPreparedShardsGivesBitIdenticalWeightsToTrainingFromTheText() throws {
        let (source, prepared) = try corpus()
        let encoded = try CorpusEncoder.encode(source, options: TextOptions())
        let split = try TrainingSplit.split(tokens: encoded.tokens, validationFraction: 0.1)
        let fromText = try Trainer(configuration: configuration(steps: 10), training: split.training, validation: split.validation,
                                   vocabulary: encoded.vocabulary, textOptions: TextOptions(),
                                   folder: ModelFolder(folder.url.appendingPathComponent("text")))
        let fromShards = try Trainer(configuration: configuration(steps: 10), data: try prepared.trainingData(),
                                     vocabulary: prepared.vocabulary, textOptions: prepared.textOptions,
                                     folder: ModelFolder(folder.url.appendingPathComponent("shards")))
        let a = try fromText.run()
        let b = try fromShards.run()
        XCTAssertEqual(a.steps, 10)
        XCTAssertEqual(weights(fromText), weights(fromShards))
        XCTAssertNotEqual(weights(fromText), weights(try Trainer(configuration: configuration(steps: 10), training: split.training,
                                                                  validation: split.validation, vocabulary: encoded.vocabulary,
                                                                  textOptions: TextOptions(),
                                                                  folder: ModelFolder(folder.url.appendingPathComponent("fresh")))),
                          "training changed nothing, so the comparison shows nothing")
        XCTAssertEqual(a.bestValidationLoss, b.bestValidationLoss)
        XCTAssertEqual(a.finalValidationLoss, b.finalValidationLoss)
    }

    func testAStoppedRunOnShardsResumesExactlyAndAcceptsTheTextsState() throws {
        let (source, prepared) = try corpus()
        let whole = try Trainer(configuration: configuration(steps: 14), data: try prepared.trainingData(),
                                vocabulary: prepared.vocabulary, textOptions: prepared.textOptions,
                                folder: ModelFolder(folder.url.appendingPathComponent("whole")))
        _ = try whole.run()

        // Stopped at step 6 on the shards, resumed on the shards.
        let stoppedFolder = ModelFolder(folder.url.appendingPathComponent("stopped"))
        var steps = 0
        let stopped = try Trainer(configuration: configuration(steps: 14), data: try prepared.trainingData(),
                                  vocabulary: prepared.vocabulary, textOptions: prepared.textOptions, folder: stoppedFolder)
        let first = try stopped.run(stopRequested: { steps >= 6 ? 2 : nil }, events: { if case .step = $0 { steps += 1 } })
        XCTAssertEqual(first.steps, 6)
        let resumed = try Trainer(resuming: stoppedFolder, limits: configuration(steps: 14), data: try prepared.trainingData(),
                                  vocabulary: prepared.vocabulary, textOptions: prepared.textOptions)
        _ = try resumed.run()
        XCTAssertEqual(weights(resumed), weights(whole))

        // Stopped on the text, resumed on the shards: the fingerprints agree, so the state is taken.
        let encoded = try CorpusEncoder.encode(source, options: TextOptions())
        let split = try TrainingSplit.split(tokens: encoded.tokens, validationFraction: 0.1)
        let textFolder = ModelFolder(folder.url.appendingPathComponent("text"))
        steps = 0
        _ = try Trainer(configuration: configuration(steps: 14), training: split.training, validation: split.validation,
                        vocabulary: encoded.vocabulary, textOptions: TextOptions(), folder: textFolder)
            .run(stopRequested: { steps >= 6 ? 2 : nil }, events: { if case .step = $0 { steps += 1 } })
        let crossed = try Trainer(resuming: textFolder, limits: configuration(steps: 14), data: try prepared.trainingData(),
                                  vocabulary: prepared.vocabulary, textOptions: prepared.textOptions)
        _ = try crossed.run()
        XCTAssertEqual(weights(crossed), weights(whole))
    }

    func testBatcherWindowsOverShardsEqualThoseOverTheArray() throws {
        let (source, prepared) = try corpus()
        let tokens = try CorpusEncoder.encode(source, options: TextOptions()).tokens
        for (batch, seq) in [(1, 5), (3, 40), (7, 13)] {
            var fromArray = try Batcher(tokens: tokens, batch: batch, seq: seq)
            var fromShards = try Batcher(source: prepared, batch: batch, seq: seq)
            var a = [Int32](repeating: 0, count: batch * seq), b = a, c = a, d = a
            for _ in 0..<(fromArray.windowsPerEpoch + 2) {
                XCTAssertEqual(fromArray.next(inputs: &a, targets: &b), try fromShards.next(inputs: &c, targets: &d))
                XCTAssertEqual(a, c)
                XCTAssertEqual(b, d)
            }
        }
    }

    func testAShardThatShrinksDuringTrainingStopsItWithASentence() throws {
        let (_, prepared) = try corpus()
        let trainer = try Trainer(configuration: configuration(steps: 50), data: try prepared.trainingData(),
                                  vocabulary: prepared.vocabulary, textOptions: prepared.textOptions,
                                  folder: ModelFolder(folder.url.appendingPathComponent("model")))
        let shard = prepared.folder.appendingPathComponent("shard-00000.bin")
        var steps = 0
        XCTAssertThrowsError(try trainer.run(events: { event in
            guard case .step = event else { return }
            steps += 1
            if steps == 3 { truncate(shard.path, 10) }
        })) { error in
            guard case let PreparedCorpusError.unreadableShard(path, reason) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, shard.path)
            XCTAssertTrue(reason.contains("it has shrunk"), reason)
            XCTAssertTrue("\(error)".hasSuffix("prepare the corpus again."), "\(error)")
        }
        XCTAssertEqual(steps, 3)
    }
}
