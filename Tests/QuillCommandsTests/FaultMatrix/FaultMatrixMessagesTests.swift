import Foundation
import Quill
import XCTest

/// Family 10 of the reliability issue: a full disk, an impossible output path or a failed first
/// save each say what happened in a sentence, and leave every earlier file as it was.
///
/// A full disk is a real one where the sandbox allows it: a 16 MB tmpfs mounted for the test
/// (skipped where mounting is not permitted). A failed first save uses a debug-build seam
/// (`QUILL_TEST_FULL_DISK_FOR`), since no disk can be full for the state but not for the model.
final class FaultMatrixMessagesTests: XCTestCase {
    private var dir: URL!
    private var corpus: String!
    private var mounted: URL?

    override func setUpWithError() throws {
        dir = TestCorpus.folder("quill-messages")
        corpus = TestCorpus.file(in: dir, characters: 8_000)
    }

    override func tearDownWithError() throws {
        if let mounted { _ = try? Self.shell("umount", ["-l", mounted.path]) }
        try? FileManager.default.removeItem(at: dir)
    }

    @discardableResult
    private static func shell(_ tool: String, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// A fresh 16 MB tmpfs, or a skip where mounting is not allowed.
    private func smallDisk() throws -> URL {
        let disk = dir.appendingPathComponent("disk")
        try FileManager.default.createDirectory(at: disk, withIntermediateDirectories: true)
        guard try Self.shell("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", disk.path]) == 0 else {
            throw XCTSkip("cannot mount a tmpfs here to fill a disk")
        }
        mounted = disk
        return disk
    }

    /// Writes zeros to `file` until the disk is full.
    private func fill(_ file: URL) {
        let fd = open(file.path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { return XCTFail("cannot create \(file.path)") }
        let block = [UInt8](repeating: 0, count: 64 * 1024)
        while block.withUnsafeBytes({ write(fd, $0.baseAddress!, $0.count) }) > 0 {}
        let byte: [UInt8] = [0]
        while byte.withUnsafeBytes({ write(fd, $0.baseAddress!, 1) }) > 0 {}
        close(fd)
    }

    func testAFullDiskOnResumeSaysTheDiskIsFull() throws {
        let disk = try smallDisk()
        let out = disk.appendingPathComponent("model")
        let first = try FaultRun.train(corpus, out, ["--steps", "10", "--eval-every", "5"])
        XCTAssertEqual(first.status, 0, first.stderr)
        fill(disk.appendingPathComponent("filler"))
        let before = FileTreeSnapshot.take(dir)
        let result = try FaultRun.train(corpus, out, ["--resume", "--steps", "20", "--eval-every", "5"])
        assertRefused(result, saying: "is full")
        XCTAssertFalse(result.stderr.contains("not writable"), result.stderr)
        assertUnchanged(dir, since: before)
    }

    /// Already handled before the issue: the disk fills while training; the last checkpoint stays whole.
    func testADiskThatFillsDuringTrainingKeepsTheLastCheckpoint() throws {
        let disk = try smallDisk()
        let out = disk.appendingPathComponent("model")
        let run = try BackgroundRun(FaultRun.arguments(corpus, out, ["--steps", "100000", "--eval-every", "5"]))
        XCTAssertTrue(run.waitUntilTraining(out), run.stderr)
        fill(disk.appendingPathComponent("filler"))
        let (status, reason) = run.finish(seconds: 120)
        XCTAssertEqual(reason, .exit)
        assertRefused(QuillBinary.Result(status: status, stdout: "", stderr: run.stderr), saying: "No space left on device")
        XCTAssertTrue(run.stderr.contains("free some space"), run.stderr)
        let model = try ModelFile.read(from: ModelFolder(out).model)
        XCTAssertTrue(model.weights.allFinite())
        try FileManager.default.removeItem(at: disk.appendingPathComponent("filler"))
        let resumed = try FaultRun.train(corpus, out, ["--resume", "--steps", "\(model.step + 5)", "--eval-every", "5"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
    }

    func testAFailedFirstSaveLeavesNoUntrainedModel() throws {
        for file in ["training-state.safetensors", "model.safetensors"] {
            let out = dir.appendingPathComponent("new/model")
            let before = FileTreeSnapshot.take(dir)
            let result = try FaultRun.train(corpus, out, ["--steps", "10"], environment: ["QUILL_TEST_FULL_DISK_FOR": file])
            if result.status == 0 { throw XCTSkip("the full-disk seam exists only in debug builds") }
            assertRefused(result, saying: "No space left on device")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("new").path), "\(file): a folder was left")
            assertUnchanged(dir, since: before)
        }
        // Into an existing folder with --force: the failed save leaves the folder empty of models too.
        let existing = dir.appendingPathComponent("existing")
        try FileManager.default.createDirectory(at: existing, withIntermediateDirectories: true)
        let forced = try FaultRun.train(corpus, existing, ["--steps", "10", "--force"],
                                        environment: ["QUILL_TEST_FULL_DISK_FOR": "training-state.safetensors"])
        assertRefused(forced, saying: "No space left on device")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: existing.path), [])
    }

    func testAnOutputPathUnderAFileIsASentence() throws {
        let file = dir.appendingPathComponent("afile")
        try Data("x".utf8).write(to: file)
        let before = FileTreeSnapshot.take(dir)
        let under = try QuillBinary.run(["train", corpus, "--out", file.appendingPathComponent("model").path])
        assertRefused(under, saying: "\(file.path) is a file, not a folder")
        XCTAssertFalse(under.stderr.contains("NSCocoaErrorDomain"), under.stderr)
        // Already handled before the issue: the output path itself is a file.
        assertRefused(try QuillBinary.run(["train", corpus, "--out", file.path]), saying: "is a file, not a folder")
        assertUnchanged(dir, since: before)
    }
}
