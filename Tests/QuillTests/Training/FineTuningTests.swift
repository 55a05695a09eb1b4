import Quill
import XCTest

/// Starting a run from a trained model: the vocabulary mapped or extended, the weights moved row by row.
final class FineTuningTests: XCTestCase {
    private func corpus(_ text: String) throws -> EncodedCorpus {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("finetune-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("c.txt")
        try text.write(to: file, atomically: true, encoding: .utf8)
        return try CorpusEncoder.encode(CorpusSource(paths: [file], documents: .wholeFiles), options: TextOptions())
    }

    func testCharactersTheModelLacksAreListedWithCountsMostFrequentFirst() throws {
        let base = Vocabulary(scalars: "abc ".unicodeScalars)
        let encoded = try corpus("abzzz cab yq z")
        XCTAssertThrowsError(try FineTuning.adapt(encoded, to: base, extend: false)) { error in
            XCTAssertEqual(error as? FineTuningError, .unknownCharacters([
                UnknownCharacter(scalar: "z", count: 4), UnknownCharacter(scalar: "q", count: 1), UnknownCharacter(scalar: "y", count: 1),
            ]))
            let text = (error as! FineTuningError).description
            XCTAssertTrue(text.contains("3 distinct characters (6 in all)"), text)
            XCTAssertTrue(text.contains("z (4), q (1), y (1)"), text)
        }
    }

    func testTheCorpusIsMappedIntoTheModelsVocabularyOrItsExtension() throws {
        let base = Vocabulary(scalars: "abcdef ".unicodeScalars)
        let inside = try corpus("fed cab")
        let mapped = try FineTuning.adapt(inside, to: base, extend: false)
        XCTAssertEqual(mapped.vocabulary, base)
        XCTAssertEqual(mapped.tokens, [0] + "fed cab".unicodeScalars.map { base.id(of: $0)! } + [0])

        let outside = try corpus("bad zebra")
        let extended = try FineTuning.adapt(outside, to: base, extend: true)
        XCTAssertEqual(extended.vocabulary, Vocabulary(scalars: "abcdef zr".unicodeScalars))
        let decoded = String(String.UnicodeScalarView(extended.tokens.dropFirst().dropLast().map { extended.vocabulary.scalar(of: $0)! }))
        XCTAssertEqual(decoded, "bad zebra")
    }

    func testExtendedRowsAreANewModelsAndOldRowsFollowTheirCharacters() throws {
        let old = Vocabulary(scalars: "bd".unicodeScalars)  // ids: [DOC] 0, b 1, d 2
        var random = QuillRandom(seed: 7)
        let baseConfiguration = ModelConfiguration(vocabularySize: old.count, embeddingSize: 3, hiddenSize: 4, layers: 2)
        let baseModel = LanguageModel.initialized(baseConfiguration, random: &random)
        let base = ModelFile(configuration: baseConfiguration, vocabulary: old, textOptions: TextOptions(), weights: baseModel.weights)

        let new = Vocabulary(scalars: "abcd".unicodeScalars)  // [DOC] 0, a 1, b 2, c 3, d 4
        let configuration = ModelConfiguration(vocabularySize: new.count, embeddingSize: 3, hiddenSize: 4, layers: 2, dropout: 0.3)
        var seeded = QuillRandom(seed: 11)
        let tuned = FineTuning.startingModel(from: base, vocabulary: new, configuration: configuration, random: &seeded)
        var again = QuillRandom(seed: 11)
        let fresh = LanguageModel.initialized(configuration, random: &again)
        XCTAssertEqual(seeded.stateWords, again.stateWords, "the generator moves as for a new model")

        func row(_ model: LanguageModel, _ name: String, _ id: Int) -> [Float] {
            let slot = model.layout.slot(named: name)!
            let width = slot.shape.count == 2 ? slot.shape[1] : 1
            return Array(UnsafeBufferPointer(start: model.weights.view(slot) + id * width, count: width))
        }
        for name in ["embedding.weight", "decoder.weight", "decoder.bias"] {
            for (oldID, newID) in [(0, 0), (1, 2), (2, 4)] {
                XCTAssertEqual(row(tuned, name, newID), row(baseModel, name, oldID), "\(name) row of old id \(oldID)")
            }
            for newID in [1, 3] {
                XCTAssertEqual(row(tuned, name, newID), row(fresh, name, newID), "\(name) new row \(newID)")
            }
        }
        for slot in tuned.layout.slots where slot.name.hasPrefix("lstm.") {
            let a = Array(UnsafeBufferPointer(start: tuned.weights.view(slot), count: slot.count))
            let b = Array(UnsafeBufferPointer(start: baseModel.weights.view(baseModel.layout.slot(named: slot.name)!), count: slot.count))
            XCTAssertEqual(a, b, slot.name)
        }
    }
}
