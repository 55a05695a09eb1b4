import Foundation
import Quill
import XCTest

/// Family 5 of the reliability issue: work that cannot fit in memory is refused, before anything
/// is allocated or written, with a sentence giving the estimate.
final class FaultMatrixMemoryTests: XCTestCase {
    private var dir: URL!
    private var corpus: String!

    override func setUpWithError() throws {
        dir = TestCorpus.folder("quill-memory")
        corpus = TestCorpus.file(in: dir, characters: 8_000)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    func testAModelTooLargeForTheMachineIsRefusedBeforeTheFolderIsMade() throws {
        let out = dir.appendingPathComponent("huge")
        let before = FileTreeSnapshot.take(dir)
        // The widths of 16384 are now refused by the options' ranges; the largest the ranges
        // allow need about 385 GB: refused against physical memory, with no --max-memory, on any
        // machine with less (a larger one would start training, so it is not tried there).
        if MemoryEstimate.availableBytes < 300e9 {
            let absurd = try QuillBinary.run(["train", corpus, "--out", out.path, "--hidden", "8192", "--layers", "16", "--embed", "4096"])
            assertRefused(absurd, saying: "needs about")
            XCTAssertTrue(absurd.stderr.contains("GB of memory (weights, gradients and optimizer"), absurd.stderr)
            XCTAssertTrue(absurd.stderr.contains("more than this machine's"), absurd.stderr)
        }
        // About 14 GB: refused against --max-memory, whatever this machine has.
        let wide = try QuillBinary.run(["train", corpus, "--out", out.path, "--hidden", "8192", "--layers", "1", "--max-memory", "8G"])
        assertRefused(wide, saying: "more than what --max-memory allows (8.0 GB)")
        assertUnchanged(dir, since: before)
        assertRefused(try QuillBinary.run(["train", corpus, "--out", out.path, "--max-memory", "lots"]), saying: "--max-memory")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
    }

    /// A model with a 200,001-token vocabulary and tiny widths (2.4 MB on disk). The issue's
    /// 1,000,001 tokens take seconds to load in a debug build; `MemoryEstimateTests` shows that
    /// size needs over 4 GB to score or to draw 4096 samples.
    private func bigVocabularyModel() throws -> URL {
        var scalars: [Unicode.Scalar] = []
        var value: UInt32 = 0x20
        while scalars.count < 200_000 {
            if let scalar = Unicode.Scalar(value) { scalars.append(scalar) }
            value += 1
        }
        let configuration = ModelConfiguration(vocabularySize: 200_001, embeddingSize: 1, hiddenSize: 1, layers: 1, dropout: 0)
        let weights = ParameterBuffer(layout: ParameterLayout(configuration))
        let url = dir.appendingPathComponent("big.safetensors")
        try ModelFile(configuration: configuration, vocabulary: Vocabulary(scalars: scalars), textOptions: TextOptions(),
                      weights: weights).write(to: url)
        return url
    }

    func testScoringOrSamplingWithAHugeVocabularyIsRefusedWithTheEstimate() throws {
        let model = try bigVocabularyModel()
        let text = dir.appendingPathComponent("short.txt")
        try String(repeating: "abcd efgh\n", count: 200).write(to: text, atomically: true, encoding: .utf8)
        let before = FileTreeSnapshot.take(dir)
        // Scoring 2 kB at the default 32 lanes needs 3.4 GB of logits; 4096 samples need 6.6 GB.
        let scored = try QuillBinary.run(["eval", model.path, text.path, "--max-memory", "1G"])
        assertRefused(scored, saying: "Scoring with this model needs about")
        let sampled = try QuillBinary.run(["sample", model.path, "--samples", "4096", "--max-memory", "1G"])
        assertRefused(sampled, saying: "Sampling from this model needs about")
        XCTAssertTrue(sampled.stderr.contains("fewer --samples"), sampled.stderr)
        assertUnchanged(dir, since: before)
        // One sample of the same model fits.
        let one = try QuillBinary.run(["sample", model.path, "--length", "3", "--max-memory", "1G"])
        XCTAssertEqual(one.status, 0, one.stderr)
    }
}
