import Foundation
import Quill
import XCTest

/// Families 1, 2 and 8 (in part) of the reliability issue: a model folder is never silently
/// replaced, written through a link, shared by two runs, or left behind by a refused run.
final class FaultMatrixFolderTests: XCTestCase {
    private var dir: URL!
    private var corpus: String!

    override func setUpWithError() throws {
        dir = TestCorpus.folder("quill-folder")
        corpus = TestCorpus.file(in: dir, characters: 8_000)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    /// A finished tiny run in `name`, to be protected.
    private func trainedFolder(_ name: String = "model") throws -> URL {
        let out = dir.appendingPathComponent(name)
        let result = try FaultRun.train(corpus, out, ["--steps", "10", "--eval-every", "5"])
        XCTAssertEqual(result.status, 0, result.stderr)
        return out
    }

    // MARK: Family 1: a model is never silently replaced

    func testAFolderHoldingOnlyAModelIsNotOverwritten() throws {
        let out = try trainedFolder()
        for url in [ModelFolder(out).state, ModelFolder(out).metrics, ModelFolder(out).lossPlot] {
            try? FileManager.default.removeItem(at: url)
        }
        let before = FileTreeSnapshot.take(dir)
        let result = try FaultRun.train(corpus, out, ["--steps", "5"])
        assertRefused(result, saying: "already holds a model (model.safetensors)")
        assertUnchanged(dir, since: before)
    }

    func testAFolderHoldingOnlyMetricsOrAStateIsNotOverwritten() throws {
        let out = try trainedFolder()
        for url in [ModelFolder(out).model, ModelFolder(out).state, ModelFolder(out).lossPlot] {
            try? FileManager.default.removeItem(at: url)
        }
        let before = FileTreeSnapshot.take(dir)
        assertRefused(try FaultRun.train(corpus, out, ["--steps", "5"]), saying: "--force")
        assertUnchanged(dir, since: before)

        // Already handled before the issue: a folder with a training state.
        let full = try trainedFolder("full")
        let again = FileTreeSnapshot.take(dir)
        assertRefused(try FaultRun.train(corpus, full, ["--steps", "5"]), saying: "--resume")
        assertUnchanged(dir, since: again)
    }

    func testForceReplacesTheRun() throws {
        let out = try trainedFolder()
        let old = try Data(contentsOf: ModelFolder(out).model)
        let result = try FaultRun.train(corpus, out, ["--steps", "5", "--eval-every", "5", "--force", "--seed", "2"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertNotEqual(try Data(contentsOf: ModelFolder(out).model), old)
        XCTAssertEqual(try ModelFile.read(from: ModelFolder(out).model).step, 5)
    }

    func testOutputsThatAreSymbolicLinksAreNeverWrittenThrough() throws {
        let out = try trainedFolder()
        let unrelated = dir.appendingPathComponent("unrelated.txt")
        try Data("someone else's file\n".utf8).write(to: unrelated)
        try FileManager.default.removeItem(at: ModelFolder(out).metrics)
        try FileManager.default.createSymbolicLink(at: ModelFolder(out).metrics, withDestinationURL: unrelated)
        let before = FileTreeSnapshot.take(dir)
        assertRefused(try FaultRun.train(corpus, out, ["--resume", "--steps", "20"]), saying: "symbolic link")
        assertUnchanged(dir, since: before)

        // A fresh folder whose model.safetensors is a link: refused without --force; with it, the
        // link itself is replaced and the file it pointed to is untouched.
        let linked = dir.appendingPathComponent("linked")
        try FileManager.default.createDirectory(at: linked, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: ModelFolder(linked).model, withDestinationURL: unrelated)
        let again = FileTreeSnapshot.take(dir)
        assertRefused(try FaultRun.train(corpus, linked, ["--steps", "5"]), saying: "already holds a model")
        assertUnchanged(dir, since: again)
        let forced = try FaultRun.train(corpus, linked, ["--steps", "5", "--eval-every", "5", "--force"])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertEqual(try Data(contentsOf: unrelated), Data("someone else's file\n".utf8))
        XCTAssertNil(try? FileManager.default.destinationOfSymbolicLink(atPath: ModelFolder(linked).model.path))
        XCTAssertNoThrow(try ModelFile.read(from: ModelFolder(linked).model))
    }

    // MARK: Refused runs leave no folder behind

    func testEveryRefusalComesBeforeTheFolderIsCreated() throws {
        let fifo = dir.appendingPathComponent("fifo").path
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        let cases: [(String, [String], String)] = [
            ("bad option", ["--batch", "0"], "--batch"),
            ("memory", ["--hidden", "4096", "--max-memory", "100M"], "needs about"),
            ("short corpus", ["--seq", "4000", "--batch", "64"], "larger corpus"),
            ("resume with nothing", ["--resume"], "no training state"),
        ]
        for (name, extra, phrase) in cases {
            let out = dir.appendingPathComponent("new/\(name.replacingOccurrences(of: " ", with: "-"))/model")
            let before = FileTreeSnapshot.take(dir)
            assertRefused(try QuillBinary.run(["train", corpus, "--out", out.path, "--doc-separator", "%"] + extra), saying: phrase)
            assertUnchanged(dir, since: before)
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("new").path), "\(name) left a folder")
        }
        let out = dir.appendingPathComponent("new/fifo/model")
        let before = FileTreeSnapshot.take(dir)
        assertRefused(try QuillBinary.run(["train", fifo, "--out", out.path]), saying: "not a regular file")
        assertUnchanged(dir, since: before)
    }

    // MARK: Family 8 (in part): --out inside the corpus folder

    func testAModelFolderInsideTheCorpusFolderIsRefused() throws {
        let books = dir.appendingPathComponent("books")
        try FileManager.default.createDirectory(at: books, withIntermediateDirectories: true)
        for i in 0..<3 { try TestCorpus.text(characters: 3_000, seed: UInt64(i + 1)).write(to: books.appendingPathComponent("\(i).txt"), atomically: true, encoding: .utf8) }
        let before = FileTreeSnapshot.take(dir)
        assertRefused(try QuillBinary.run(["train", books.path, "--out", books.appendingPathComponent("model").path]),
                      saying: "inside the corpus folder")
        // Through a link to the corpus folder, and as the corpus folder itself.
        let link = dir.appendingPathComponent("link")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: books)
        let withLink = FileTreeSnapshot.take(dir)
        assertRefused(try QuillBinary.run(["train", books.path, "--out", link.appendingPathComponent("sub/model").path]),
                      saying: "inside the corpus folder")
        assertRefused(try QuillBinary.run(["train", link.path, "--out", books.path]), saying: "inside the corpus folder")
        assertUnchanged(dir, since: withLink)
        _ = before
    }

    // MARK: Family 2: one run per folder (must show 4)

    func testASecondConcurrentRunIsRefusedNamingTheFirstAndItsFilesAreIntact() throws {
        let out = dir.appendingPathComponent("shared"), alone = dir.appendingPathComponent("alone")
        // A run with no end in sight, and a fixed schedule and regularization (auto would choose from
        // the limit) so it can be compared with one made alone.
        let fixed = ["--decay-steps", "1000000", "--regularization", "strong", "--eval-every", "20", "--val-frac", "0.05"]
        let long = ["--steps", "1000000"] + fixed
        let first = try BackgroundRun(FaultRun.arguments(corpus, out, long))
        XCTAssertTrue(first.waitUntilTraining(out), first.stderr)
        // Each way past the folder checks meets the lock: --resume (reads only) and --force (would remove).
        for extra in [["--resume"], ["--force"]] {
            let second = try FaultRun.train(corpus, out, extra + long)
            assertRefused(second, saying: "in use by process \(first.pid)")
        }
        XCTAssertTrue(first.process.isRunning, "the first run ended before the second tried: \(first.stdout)")
        kill(first.pid, SIGINT)
        let (status, _) = first.finish()
        XCTAssertEqual(status, 128 + SIGINT, first.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent(FolderLock.fileName).path),
                       "the lock file is removed when the run ends")

        // The first run's files are what the same run gives alone, byte for byte, and its log has no torn line.
        // "stopped: interrupted by signal 2 after K steps": the state's step, which the best model's may trail.
        let words = first.stdout.split(separator: " ")
        let stopped = try XCTUnwrap(words.firstIndex(of: "after").flatMap { Int(words[$0 + 1]) }, first.stdout)
        let end = ["--steps", "\(stopped + 20)"] + fixed
        XCTAssertEqual(try FaultRun.train(corpus, out, ["--resume"] + end).status, 0)
        XCTAssertEqual(try FaultRun.train(corpus, alone, end).status, 0)
        XCTAssertTrue(FaultRun.files(out) == FaultRun.files(alone), "the first run's files differ from a run made alone")
        let lines = try String(contentsOf: ModelFolder(out).metrics, encoding: .utf8).split(separator: "\n")
        XCTAssertGreaterThan(lines.count, 0)
        for line in lines { XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(line.utf8)), String(line)) }
    }
}
