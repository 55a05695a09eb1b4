import Foundation
import Quill

/// Generates one sample from a model file: the prompt normalized as the model's text was.
func generateText(from file: ModelFile, prompt: String, length: Int, temperature: Float, seed: UInt64) throws -> String {
    let model = LanguageModel(weights: file.weights)
    let ids = try CorpusEncoder.encode(text: prompt, options: file.textOptions, vocabulary: file.vocabulary, unknown: .skip).tokens
    let generator = TextGenerator(model: model, vocabulary: file.vocabulary)
    var text = prompt
    try generator.generate(prompt: ids, length: length, settings: SamplingSettings(temperature: temperature), seed: seed) { _, piece in
        text += piece
    }
    return text
}
