import Foundation
import Quill
import XCTest

/// End-to-end runs of `quill inspect` on a model built in-process, and on bad files.
final class InspectCommandTests: XCTestCase {
    /// V = 6 ([DOC], \n, space, a, b, é), E = 5, H = 7, two layers.
    private func writeModel(in folder: URL) throws -> String {
        let vocabulary = Vocabulary(scalars: "ab \né".unicodeScalars)
        let configuration = ModelConfiguration(vocabularySize: vocabulary.count, embeddingSize: 5, hiddenSize: 7, layers: 2, dropout: 0.25)
        var random = QuillRandom(seed: 3)
        let weights = LanguageModel.initialized(configuration, random: &random).weights
        let file = ModelFile(configuration: configuration, vocabulary: vocabulary, textOptions: TextOptions(form: .nfkc, caseFold: true),
                             weights: weights, step: 1234, info: ["corpus": "poems.txt", "validation_nats_per_char": "1.500000"])
        let url = folder.appendingPathComponent("built.safetensors")
        try file.write(to: url)
        return url.path
    }

    /// V*E + each layer's 4H*(input + H) + 8H biases + V*H + V, with the sizes of `writeModel`.
    private let expectedParameters: Int = {
        let (v, e, h) = (6, 5, 7)
        let layer0 = 4 * h * (e + h) + 8 * h
        let layer1 = 4 * h * (h + h) + 8 * h
        return v * e + layer0 + layer1 + v * h + v
    }()

    func testPrintsSizesParameterCountVocabularyAndInfo() throws {
        let path = try writeModel(in: TestCorpus.folder())
        let result = try QuillBinary.run(["inspect", path])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(expectedParameters, 918)
        let out = result.stdout
        for expected in ["quill.char-lstm, version 1", "vocab 6, embed 5, hidden 7, layers 2, dropout 0.25", "918",
                         "normalization NFKC, case folding on", "1234", "poems.txt",
                         "1.5000 nats/char, 2.1640 bits/char, perplexity 4.482",
                         "6 tokens: [DOC] \\n (U+000A) space (U+0020) a b é"] {
            XCTAssertTrue(out.contains(expected), "lacks \(expected): \(out)")
        }
        XCTAssertEqual(result.stderr, "")
    }

    func testJSONHoldsTheModelsValues() throws {
        let path = try writeModel(in: TestCorpus.folder())
        let result = try QuillBinary.run(["inspect", path, "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["format"] as? String, "quill.char-lstm")
        XCTAssertEqual(object["format_version"] as? String, "1")
        XCTAssertEqual(object["vocab_size"] as? Int, 6)
        XCTAssertEqual(object["embed_size"] as? Int, 5)
        XCTAssertEqual(object["hidden_size"] as? Int, 7)
        XCTAssertEqual(object["layers"] as? Int, 2)
        XCTAssertEqual(object["dropout"] as? Double, 0.25)
        XCTAssertEqual(object["parameters"] as? Int, expectedParameters)
        XCTAssertEqual(object["normalization"] as? String, "NFKC")
        XCTAssertEqual(object["case_fold"] as? Bool, true)
        XCTAssertEqual(object["step"] as? Int, 1234)
        XCTAssertEqual(object["code_points"] as? [Int], [10, 32, 97, 98, 233])
        XCTAssertEqual(object["vocabulary"] as? [String], ["[DOC]", "\\n (U+000A)", "space (U+0020)", "a", "b", "é"])
        XCTAssertEqual(object["info"] as? [String: String], ["corpus": "poems.txt", "validation_nats_per_char": "1.500000"])
        let validation = try XCTUnwrap(object["validation"] as? [String: Double])
        XCTAssertEqual(try XCTUnwrap(validation["perplexity"]), exp(1.5), accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(validation["bits_per_char"]), 1.5 / log(2), accuracy: 1e-9)
        let bytes = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
        XCTAssertEqual(object["bytes"] as? Int, bytes)
    }

    func testATrainedModelShowsItsStep() throws {
        let result = try QuillBinary.run(["inspect", TrainedModel.shared.model, "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["step"] as? Int, 60)
        // The model's folder names the same file.
        let folder = URL(fileURLWithPath: TrainedModel.shared.model).deletingLastPathComponent().path
        let viaFolder = try QuillBinary.run(["inspect", folder, "--json"])
        XCTAssertEqual(viaFolder.stdout, result.stdout, viaFolder.stderr)
        XCTAssertEqual(object["layers"] as? Int, 1)
        XCTAssertNotNil(object["validation"])
    }

    func testBadFilesAreASentenceAndNonZeroExit() throws {
        let dir = TestCorpus.folder()
        let cases: [(String, String, String)] = [
            ("missing", dir.appendingPathComponent("none.safetensors").path, "none.safetensors does not exist"),
            ("device", "/dev/urandom", "not a regular file"),
            ("truncated", try TrainedModel.truncatedCopy(in: dir), "truncated.safetensors"),
            ("random bytes", try TrainedModel.randomBytes(in: dir), "random.safetensors"),
            ("foreign safetensors", try TrainedModel.foreignSafeTensors(in: dir), "not a Quill model"),
        ]
        for (name, path, phrase) in cases {
            for extra in [[], ["--json"]] {
                let result = try QuillBinary.run(["inspect", path] + extra)
                XCTAssertNotEqual(result.status, 0, name)
                XCTAssertFalse(result.crashed, "\(name): \(result.stderr)")
                XCTAssertTrue(result.stderr.contains(phrase), "\(name): \(result.stderr)")
                XCTAssertEqual(result.stdout, "", name)
            }
        }
    }
}
