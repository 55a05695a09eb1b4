import Foundation
import Quill
import XCTest

/// `quill train --size`: the choice and its reason printed at start, and explicit sizes overriding it.
final class SizeCommandTests: XCTestCase {
    let quick = ["--embed", "4", "--batch", "2", "--seq", "8", "--steps", "2", "--eval-every", "2", "--sample-length", "0"]

    func testTheChoiceIsPrintedAndExplicitSizesOverrideIt() throws {
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 4_000)
        let small = dir.appendingPathComponent("small")
        let a = try QuillBinary.run(["train", corpus, "--out", small.path, "--size", "small"] + quick)
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertTrue(a.stdout.contains("size: --size small is 2 x 128"), a.stdout)
        let model = try ModelFile.read(from: ModelFolder(small).model)
        XCTAssertEqual(model.configuration.hiddenSize, 128)
        XCTAssertEqual(model.configuration.layers, 2)

        // 2 steps of 2 x 8 read under an eighth of the corpus: auto picks 2 x 128, and --hidden overrides the width.
        let given = dir.appendingPathComponent("given")
        let b = try QuillBinary.run(["train", corpus, "--out", given.path, "--hidden", "8"] + quick)
        XCTAssertEqual(b.status, 0, b.stderr)
        XCTAssertTrue(b.stdout.contains("size: --size auto chose 2 x 128"), b.stdout)
        XCTAssertTrue(b.stdout.contains("overrides it"), b.stdout)
        let overridden = try ModelFile.read(from: ModelFolder(given).model)
        XCTAssertEqual(overridden.configuration.hiddenSize, 8)
        XCTAssertEqual(overridden.configuration.layers, 2)

        // Both given: no choice is made or printed.
        let both = dir.appendingPathComponent("both")
        let c = try QuillBinary.run(["train", corpus, "--out", both.path, "--hidden", "8", "--layers", "1"] + quick)
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertFalse(c.stdout.contains("size:"), c.stdout)
    }
}
