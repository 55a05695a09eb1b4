import Foundation
@testable import Quill
import XCTest

/// The committed seeds of the model and training-state fuzz targets are files the readers accept,
/// so fuzzing starts from inputs that reach every check; if the format changes, Fuzz/make_seeds.py
/// must be run again.
final class FuzzSeedTests: XCTestCase {
    func testModelFileSeedsAreModelsThatLoad() throws {
        let seeds = try FuzzInputs.seeds("model-file")
        XCTAssertGreaterThanOrEqual(seeds.count, 3)
        var forms: Set<NormalizationForm> = []
        for url in seeds {
            let model = try ModelFile.read(from: url)
            XCTAssertGreaterThan(model.step, 0, url.lastPathComponent)
            forms.insert(model.textOptions.form)
        }
        XCTAssertEqual(forms, [.nfc, .nfd, .nfkc])
    }

    func testTrainingStateSeedsAreStatesThatLoad() throws {
        let seeds = try FuzzInputs.seeds("training-state")
        XCTAssertGreaterThanOrEqual(seeds.count, 3)
        for url in seeds {
            let checkpoint = try TrainingCheckpoint.read(from: url)
            XCTAssertGreaterThan(checkpoint.step, 0, url.lastPathComponent)
            XCTAssertEqual(checkpoint.vocabulary.count, checkpoint.weights.layout.configuration.vocabularySize)
        }
    }

    func testSafeTensorsSeedsAreValidFiles() throws {
        let seeds = try FuzzInputs.seeds("safetensors-header")
        XCTAssertGreaterThanOrEqual(seeds.count, 8)
        for url in seeds {
            XCTAssertNoThrow(try SafeTensorsFile(contentsOf: url), url.lastPathComponent)
        }
    }
}
