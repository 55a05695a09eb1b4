import Foundation
import XCTest
@testable import Quill

final class GenerationAPITests: XCTestCase {
    func testGenerateEqualsTheGeneratorOfSampleWithTheSameSeed() throws {
        let model = APIFixtures.model()
        let parameters = try GenerationParameters(temperature: 0.9, topP: 0.95, maxLength: 300, seed: 11)
        let text = try model.generate("the cat", parameters: parameters)
        // The reference: the generator `quill sample` uses for one sample.
        let reference = TextGenerator(model: model.languageModel, vocabulary: model.vocabulary, samples: 1, precision: .float32)
        var expected = ""
        try reference.generate(prompt: try model.encode("the cat"), length: 300, settings: parameters.sampling, seed: 11) {
            expected += $1
        }
        XCTAssertEqual(text, expected)
        XCTAssertFalse(text.isEmpty)
    }

    func testTheSameSeedGivesTheSameTextAndAnotherSeedAnother() throws {
        let model = APIFixtures.model()
        let a = try model.generate("", parameters: GenerationParameters(maxLength: 200, seed: 5))
        let b = try model.generate("", parameters: GenerationParameters(maxLength: 200, seed: 5))
        let c = try model.generate("", parameters: GenerationParameters(maxLength: 200, seed: 6))
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
    }

    func testTwoCallsOfAGeneratorContinueLikeOneLongerCall() throws {
        let model = APIFixtures.model()
        let whole = try model.generate("a", parameters: GenerationParameters(temperature: 0.8, maxLength: 60, seed: 3))
        let generator = model.makeGenerator(seed: 3)
        let first = try generator.generate(after: "a", parameters: GenerationParameters(temperature: 0.8, maxLength: 25))
        let second = try generator.generate(parameters: GenerationParameters(temperature: 0.8, maxLength: 35))
        if generator.lastEnding == .length {
            XCTAssertEqual(first + second, whole)
        } else {
            XCTAssertTrue(whole.hasPrefix(first + second))
        }
        XCTAssertEqual(first.unicodeScalars.count, 25)
    }

    func testAppendedTextIsReadAfterTheTextSoFar() throws {
        let model = APIFixtures.model()
        let parameters = try GenerationParameters(temperature: 0, maxLength: 30)
        let generator = model.makeGenerator()
        let first = try generator.generate(after: "the", parameters: parameters)
        XCTAssertEqual(generator.lastEnding, .length)
        let second = try generator.generate(after: " rat ", parameters: parameters)
        // Greedy text is a function of the text read, which is the whole document so far.
        XCTAssertEqual(second, try model.generate("the" + first + " rat ", parameters: parameters))
    }

    func testStreamGivesWholeGraphemeClustersThatJoinToTheGeneratedText() async throws {
        let model = APIFixtures.model()
        let parameters = try GenerationParameters(temperature: 1.2, maxLength: 400, seed: 9)
        var pieces: [String] = []
        for try await piece in model.stream("e", parameters: parameters) { pieces.append(piece) }
        let joined = pieces.joined()
        XCTAssertEqual(joined, try model.generate("e", parameters: parameters))
        // No piece ends inside a cluster: counting clusters piece by piece gives the joined count.
        XCTAssertEqual(pieces.map(\.count).reduce(0, +), joined.count)
        XCTAssertTrue(joined.unicodeScalars.contains("\u{301}"), "the fixture should produce combining accents: \(joined)")
    }

    func testAStopStringEndsTheTextJustBeforeIt() throws {
        let model = APIFixtures.model()
        let full = try model.generate("", parameters: GenerationParameters(temperature: 0, maxLength: 80))
        let scalars = Array(full.unicodeScalars)
        XCTAssertGreaterThan(scalars.count, 12, full)
        let stop = String(String.UnicodeScalarView(scalars[8..<11]))
        let cut = try model.generate("", parameters: GenerationParameters(temperature: 0, maxLength: 80, stops: [stop]))
        let pattern = Array(stop.unicodeScalars)
        let firstMatch = (0...8).first { Array(scalars[$0..<($0 + pattern.count)]) == pattern }!
        XCTAssertEqual(Array(cut.unicodeScalars), Array(scalars[..<firstMatch]))
    }

    func testAPromptCharacterOutsideTheVocabularyIsATypedErrorNamingIt() {
        let model = APIFixtures.model()
        XCTAssertThrowsError(try model.generate("the cat!")) { error in
            guard case let QuillError.unknownCharacter(name, position) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(name.contains("!"), name)
            XCTAssertEqual(position, 7)
        }
    }

    func testParametersRejectOutOfRangeValuesWithTypedErrors() {
        func rejects(_ make: () throws(SamplingError) -> GenerationParameters, _ expected: SamplingError) {
            do {
                _ = try make()
                XCTFail("accepted, expected \(expected)")
            } catch {
                XCTAssertEqual(error, expected)
            }
        }
        rejects({ () throws(SamplingError) in try GenerationParameters(temperature: -1) }, .invalidTemperature(-1))
        rejects({ () throws(SamplingError) in try GenerationParameters(topK: -2) }, .invalidTopK(-2))
        rejects({ () throws(SamplingError) in try GenerationParameters(topP: 0) }, .invalidTopP(0))
        rejects({ () throws(SamplingError) in try GenerationParameters(maxLength: 0) }, .invalidLength(0, maximum: SamplingSettings.maximumLength))
        rejects({ () throws(SamplingError) in try GenerationParameters(stops: [""]) }, .emptyStopString)
        XCTAssertNoThrow(try GenerationParameters(temperature: 0, topK: 40, topP: 0.9, maxLength: 1, stops: ["\n"]))
    }

    func testGenerationInACancelledTaskThrowsCancelled() async throws {
        let model = APIFixtures.model()
        let task = Task { () -> QuillError? in
            withUnsafeCurrentTask { $0?.cancel() }
            do {
                _ = try model.generate("", parameters: GenerationParameters(maxLength: 1000))
                return nil
            } catch {
                return error as? QuillError
            }
        }
        let error = await task.value
        XCTAssertEqual(error, .cancelled)
    }

    func testAMissingOrBrokenModelFileIsATypedError() throws {
        let folder = APIFixtures.temporaryFolder("broken")
        defer { try? FileManager.default.removeItem(at: folder) }
        XCTAssertThrowsError(try QuillModel(contentsOf: folder.appendingPathComponent("none.safetensors"))) { error in
            guard case QuillError.unreadableModel = error else { return XCTFail("\(error)") }
        }
        let broken = folder.appendingPathComponent("model.safetensors")
        try Data("not a model".utf8).write(to: broken)
        XCTAssertThrowsError(try QuillModel(contentsOf: folder)) { error in
            guard case let QuillError.unreadableModel(path, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, broken.path)
        }
    }

    func testAModelLoadsFromItsFolderAndGeneratesAsInMemory() throws {
        let folder = APIFixtures.temporaryFolder("load")
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = APIFixtures.modelFile()
        try file.write(to: folder.appendingPathComponent("model.safetensors"))
        let loaded = try QuillModel(contentsOf: folder, precision: .float32)
        XCTAssertEqual(loaded.name, folder.lastPathComponent)
        let parameters = try GenerationParameters(maxLength: 100, seed: 2)
        XCTAssertEqual(try loaded.generate("a", parameters: parameters), try APIFixtures.model().generate("a", parameters: parameters))
    }
}
