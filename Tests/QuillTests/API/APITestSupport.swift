import Foundation
@testable import Quill

/// Models for the library API tests: seeded random weights over a small vocabulary, no training needed.
enum APIFixtures {
    /// Letters, space, newline, an `e` and a combining acute accent (kept apart by NFD), so grapheme clusters span tokens.
    static let characters = "\n abcdehlorstw\u{301}"

    static func modelFile(seed: UInt64 = 3, hidden: Int = 24, layers: Int = 2, form: NormalizationForm = .nfd) -> ModelFile {
        let vocabulary = Vocabulary(scalars: Set(characters.unicodeScalars).sorted { $0.value < $1.value })
        let configuration = ModelConfiguration(vocabularySize: vocabulary.count, embeddingSize: 8, hiddenSize: hidden,
                                               layers: layers, dropout: 0)
        var random = QuillRandom(seed: seed)
        let model = LanguageModel.initialized(configuration, random: &random)
        // Sharpen the decoder so texts have structure and the end of a document ([DOC], id 0) rare but possible.
        let decoder = model.weights.view(at: model.layout.decoderWeightIndex)
        for i in 0..<(configuration.vocabularySize * hidden) { decoder[i] *= 4 }
        model.weights.view(at: model.layout.decoderBiasIndex)[0] = -4
        return ModelFile(configuration: configuration, vocabulary: vocabulary, textOptions: TextOptions(form: form),
                         weights: model.weights)
    }

    static func model(precision: ComputePrecision = .float32) -> QuillModel {
        QuillModel(file: modelFile(), name: "fixture", precision: precision)
    }

    static func temporaryFolder(_ name: String) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("quill-api-\(name)-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
