import Foundation
import Quill
import XCTest

/// End-to-end runs of `quill eval`: agreement with an independent step-by-step scoring, unknown characters, bad input.
final class EvalCommandTests: XCTestCase {
    private var model: String { TrainedModel.shared.model }

    private func eval(_ arguments: [String]) throws -> QuillBinary.Result {
        let result = try QuillBinary.run(["eval", model] + arguments)
        XCTAssertFalse(result.crashed, result.stderr)
        return result
    }

    private func json(_ result: QuillBinary.Result) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
        return try XCTUnwrap(object as? [String: Any], result.stdout)
    }

    /// Mean -log p(next) over a token stream, one token at a time through the sampling path, log-softmax in Double.
    private func stepByStepNats(_ tokens: [Int32], file: ModelFile) -> (Double, Int) {
        let model = LanguageModel(weights: file.weights)
        let engine = InferenceEngine(model: model, batch: 1, maxSeq: 1)
        let state = RecurrentState(configuration: model.configuration, batch: 1)
        let v = model.configuration.vocabularySize
        var logits = [Float](repeating: 0, count: v)
        var total = 0.0
        for i in 0..<(tokens.count - 1) {
            [tokens[i]].withUnsafeBufferPointer { t in
                logits.withUnsafeMutableBufferPointer { engine.step(tokens: t, state: state, logits: $0.baseAddress!) }
            }
            let top = Double(logits.max()!)
            let sum = logits.reduce(0.0) { $0 + Foundation.exp(Double($1) - top) }
            total -= Double(logits[Int(tokens[i + 1])]) - top - Foundation.log(sum)
        }
        return (total / Double(tokens.count - 1), tokens.count - 1)
    }

    func testJSONAgreesWithStepByStepScoringAndCountsUnknownCharacters() throws {
        let dir = TestCorpus.folder()
        // The model was trained with % as a separator, so the % lines here are unknown characters, as are § and é.
        let text = TestCorpus.text(characters: 1_500, seed: 2) + "§ é§\n"
        let url = dir.appendingPathComponent("held-out.txt")
        try text.write(to: url, atomically: true, encoding: .utf8)

        let result = try eval([url.path, "--json", "--batch", "1"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try json(result)

        // The reference stream, built without the tokenizer: one document, [DOC] text [DOC], unknown characters dropped.
        let file = try ModelFile.read(from: URL(fileURLWithPath: model))
        var tokens: [Int32] = [Vocabulary.documentID]
        var unknown = 0
        for scalar in text.unicodeScalars {
            if let id = file.vocabulary.id(of: scalar) { tokens.append(id) } else { unknown += 1 }
        }
        tokens.append(Vocabulary.documentID)
        let (nats, count) = stepByStepNats(tokens, file: file)
        XCTAssertEqual(unknown, text.filter { $0 == "%" }.count + 3)

        let reported = try XCTUnwrap(object["nats_per_char"] as? Double)
        XCTAssertEqual(reported, nats, accuracy: 1e-6)
        XCTAssertEqual(object["characters"] as? Int, count)
        XCTAssertEqual(object["unknown_characters"] as? Int, unknown)
        let names = try XCTUnwrap(object["unknown"] as? [String: Int])
        XCTAssertEqual(names["§"], 2)
        XCTAssertEqual(names["é"], 1)
        XCTAssertEqual(try XCTUnwrap(object["bits_per_char"] as? Double), reported / log(2), accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(object["perplexity"] as? Double), exp(reported), accuracy: 1e-9)
        XCTAssertEqual(object["files"] as? [String], [url.path])
        XCTAssertGreaterThan(try XCTUnwrap(object["seconds"] as? Double), 0)
        XCTAssertGreaterThan(try XCTUnwrap(object["chars_per_s"] as? Double), 0)
        // An untrained guess would score about ln V nats per character; the trained model does better.
        XCTAssertLessThan(reported, log(Double(file.vocabulary.count)))
    }

    func testDocumentsAndBatchReachTheEvaluator() throws {
        let corpus = TrainedModel.shared.corpus
        let result = try eval([corpus, "--doc-separator", "%", "--batch", "4", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try json(result)
        let file = try ModelFile.read(from: URL(fileURLWithPath: model))
        let source = CorpusSource(paths: [URL(fileURLWithPath: corpus)], documents: .separatorLine("%"))
        let encoded = try CorpusEncoder.encode(source, options: file.textOptions, vocabulary: file.vocabulary, unknown: .error)
        XCTAssertGreaterThan(encoded.documentCount, 1)
        let expected = Evaluator(model: LanguageModel(weights: file.weights), batch: 4).evaluate(encoded.tokens)
        XCTAssertEqual(try XCTUnwrap(object["nats_per_char"] as? Double), expected.natsPerCharacter, accuracy: 1e-9)
        XCTAssertEqual(object["characters"] as? Int, expected.count)
        XCTAssertEqual(object["documents"] as? Int, encoded.documentCount)
        XCTAssertEqual(object["unknown_characters"] as? Int, 0)

        // Another batch only changes speed: every batch gives the sequential (--batch 1) figure.
        let sequential = try json(try eval([corpus, "--doc-separator", "%", "--batch", "1", "--json"]))
        let nats = try XCTUnwrap(sequential["nats_per_char"] as? Double)
        for batch in ["2", "4", "32"] {
            let other = try json(try eval([corpus, "--doc-separator", "%", "--batch", batch, "--json"]))
            XCTAssertEqual(try XCTUnwrap(other["nats_per_char"] as? Double), nats, accuracy: 1e-4, "--batch \(batch)")
            XCTAssertEqual(other["characters"] as? Int, sequential["characters"] as? Int)
        }
    }

    func testHumanOutputShowsTheFiguresAndSpeed() throws {
        let corpus = TrainedModel.shared.corpus
        let text = try eval([corpus, "--doc-separator", "%"])
        XCTAssertEqual(text.status, 0, text.stderr)
        let object = try json(try eval([corpus, "--doc-separator", "%", "--json"]))
        let nats = try XCTUnwrap(object["nats_per_char"] as? Double)
        XCTAssertTrue(text.stdout.contains(String(format: "%.4f nats/char, %.4f bits/char, perplexity %.3f", nats, nats / log(2), exp(nats))),
                      text.stdout)
        XCTAssertTrue(text.stdout.contains("scored \(object["characters"] as! Int) characters"), text.stdout)
        XCTAssertTrue(text.stdout.contains("chars/s"), text.stdout)
    }

    func testUnknownCharactersAreANoteByDefaultAndAnErrorOnRequest() throws {
        let dir = TestCorpus.folder()
        let url = dir.appendingPathComponent("odd.txt")
        try "The king said\u{7} unto them.\n".write(to: url, atomically: true, encoding: .utf8)
        let noted = try eval([url.path])
        XCTAssertEqual(noted.status, 0, noted.stderr)
        XCTAssertTrue(noted.stderr.contains("U+0007 (1)"), noted.stderr)
        let refused = try eval([url.path, "--unknown", "error"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("U+0007"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("odd.txt"), refused.stderr)
    }

    func testBadInputIsASentenceAndNonZeroExit() throws {
        let dir = TestCorpus.folder()
        let empty = dir.appendingPathComponent("empty.txt")
        try Data().write(to: empty)
        let invalid = dir.appendingPathComponent("latin1.txt")
        try Data([0x61, 0x62, 0xE9, 0x63, 0x0A]).write(to: invalid)
        let foreign = dir.appendingPathComponent("foreign.txt")
        try "§¶§".write(to: foreign, atomically: true, encoding: .utf8)
        let corpus = TrainedModel.shared.corpus
        let cases: [(String, [String], [String])] = [
            ("empty file", [model, empty.path], ["empty.txt", "holds no text"]),
            ("invalid UTF-8", [model, invalid.path], ["latin1.txt", "not valid UTF-8", "offset 2", "E9"]),
            ("missing file", [model, dir.appendingPathComponent("none.txt").path], ["none.txt", "does not exist"]),
            ("no file", [model], ["file"]),
            ("only unknown characters", [model, foreign.path], ["No character of", "§ (2)"]),
            ("missing model", [dir.appendingPathComponent("none.safetensors").path, corpus], ["none.safetensors"]),
            ("truncated model", [try TrainedModel.truncatedCopy(in: dir), corpus], ["truncated.safetensors"]),
            ("random bytes", [try TrainedModel.randomBytes(in: dir), corpus], ["random.safetensors"]),
            ("foreign safetensors", [try TrainedModel.foreignSafeTensors(in: dir), corpus], ["not a Quill model"]),
            ("batch zero", [model, corpus, "--batch", "0"], ["--batch"]),
            ("negative burn-in", [model, corpus, "--burn-in", "-1"], ["--burn-in", "from 0"]),
            ("two document options", [model, corpus, "--doc-separator", "%", "--jsonl-field", "text"], ["cannot be used together"]),
            ("normalization is the model's", [model, corpus, "--normalization", "nfd"], ["--normalization"]),
        ]
        for (name, arguments, phrases) in cases {
            let result = try QuillBinary.run(["eval"] + arguments)
            XCTAssertNotEqual(result.status, 0, name)
            XCTAssertFalse(result.crashed, "\(name): \(result.stderr)")
            for phrase in phrases {
                XCTAssertTrue(result.stderr.contains(phrase), "\(name) lacks \(phrase): \(result.stderr)")
            }
            XCTAssertEqual(result.stdout, "", name)
        }
    }
}
