import Foundation
import Quill

// Uses Quill as a library: train a tiny model (or load one), generate, stream, and continue a text.
// Usage: QuillExample [MODEL]   (MODEL: a model.safetensors or its folder; without one, a tiny model is trained first)

func fail(_ error: Error) -> Never {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}

let arguments = CommandLine.arguments.dropFirst()
let model: QuillModel
do {
    if let path = arguments.first {
        model = try QuillModel(contentsOf: URL(fileURLWithPath: path))
    } else {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("quill-example-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let corpus = folder.appendingPathComponent("corpus.txt")
        let verse = "the quick brown fox jumps over the lazy dog.\nthe dog sleeps and the fox runs home.\n"
        try Data(String(repeating: verse, count: 400).utf8).write(to: corpus)
        var configuration = TrainingConfiguration()
        configuration.hiddenSize = 64
        configuration.layers = 1
        configuration.embeddingSize = 16
        configuration.batch = 8
        configuration.seq = 32
        configuration.steps = 150
        configuration.evalEvery = 150
        let trained = try await QuillModel.train(corpus: CorpusSource(paths: [corpus]), configuration: configuration,
                                                 folder: folder.appendingPathComponent("model")) { progress in
            if progress.step % 50 == 0 { print(String(format: "trained %d steps, loss %.3f", progress.step, progress.smoothedLoss)) }
        }
        model = trained.model
    }

    let parameters = try GenerationParameters(temperature: 0.7, maxLength: 80, stops: ["\n"], seed: 42)
    print("generate:", try model.generate("the ", parameters: parameters))

    print("stream:   ", terminator: "")
    for try await piece in model.stream("the dog", parameters: parameters) {
        print(piece, terminator: "")
        fflush(stdout)
    }
    print()

    let generator = model.makeGenerator(seed: 7)
    let first = try generator.generate(after: "the fox", parameters: try GenerationParameters(temperature: 0.5, maxLength: 20))
    let more = try generator.generate(after: " and", parameters: try GenerationParameters(temperature: 0.5, maxLength: 20))
    print("continue: the fox" + first + " and" + more)
    print(String(format: "evaluate: %.3f bits per character", try model.evaluate("the lazy dog sleeps.").bitsPerCharacter))
} catch {
    fail(error)
}
