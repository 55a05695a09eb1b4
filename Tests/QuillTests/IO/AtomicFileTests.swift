import Foundation
@testable import Quill
import XCTest

final class AtomicFileTests: XCTestCase {
    typealias F = ModelFileFixtures

    override func tearDown() {
        AtomicFile.failureHook = nil
        super.tearDown()
    }

    private func contents(_ folder: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
    }

    func testReplacesTheFileAndLeavesNoTemporaryFile() throws {
        let folder = try F.temporaryFolder()
        let url = folder.appendingPathComponent("model.safetensors")
        try AtomicFile.write(Data("first".utf8), to: url)
        try AtomicFile.write(Data("second, longer".utf8), to: url)
        XCTAssertEqual(try Data(contentsOf: url), Data("second, longer".utf8))
        try AtomicFile.write(Data(), to: url)
        XCTAssertEqual(try Data(contentsOf: url), Data())
        XCTAssertEqual(try contents(folder), ["model.safetensors"])
    }

    /// A failure at any step before the rename (a full disk, say) leaves the old file whole and removes the temporary file.
    func testFailureAtEachStepKeepsTheOldFileAndRemovesTheTemporaryFile() throws {
        let folder = try F.temporaryFolder()
        let url = folder.appendingPathComponent("model.safetensors")
        let old = Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try AtomicFile.write(old, to: url)
        for step in [AtomicFile.Step.open, .write, .sync, .close, .rename] {
            AtomicFile.failureHook = { $0 == step ? ENOSPC : nil }
            XCTAssertThrowsError(try AtomicFile.write(Data(repeating: 7, count: 10_000), to: url), "\(step)") { error in
                guard case let FileError.cannotWrite(path, _, code) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(code, ENOSPC)
                XCTAssertTrue(path.hasPrefix(url.path))
                XCTAssertTrue(String(describing: error).contains("No space left on device; free some space"), "\(error)")
            }
            XCTAssertEqual(try Data(contentsOf: url), old, "\(step)")
            XCTAssertEqual(try contents(folder), ["model.safetensors"], "\(step)")
        }
    }

    /// The streaming writer fails after half the bytes are on disk: the old file is still whole.
    func testFailingMidwayThroughAStreamedWriteKeepsTheOldFile() throws {
        let folder = try F.temporaryFolder()
        let url = folder.appendingPathComponent("state.bin")
        let old = Data("the last good checkpoint".utf8)
        try AtomicFile.write(old, to: url)
        var writes = 0
        AtomicFile.failureHook = { step in
            guard step == .write else { return nil }
            writes += 1
            return writes == 2 ? ENOSPC : nil
        }
        XCTAssertThrowsError(try AtomicFile.write(to: url) { sink in
            try sink.write(Data(repeating: 1, count: 1000))
            try sink.write(Data(repeating: 2, count: 1000))
            XCTFail("the second write should have failed")
        })
        XCTAssertEqual(writes, 2)
        XCTAssertEqual(try Data(contentsOf: url), old)
        XCTAssertEqual(try contents(folder), ["state.bin"])
    }

    func testAnErrorThrownByTheBodyKeepsTheOldFile() throws {
        struct Stop: Error {}
        let folder = try F.temporaryFolder()
        let url = folder.appendingPathComponent("m")
        try AtomicFile.write(Data("old".utf8), to: url)
        XCTAssertThrowsError(try AtomicFile.write(to: url) { sink in
            try sink.write(Data("half".utf8))
            throw Stop()
        }) { XCTAssertTrue($0 is Stop) }
        XCTAssertEqual(try Data(contentsOf: url), Data("old".utf8))
        XCTAssertEqual(try contents(folder), ["m"])
    }

    /// A real failure, no hook: the target is a folder, so the rename fails and the folder is untouched.
    func testRenameOverAFolderFailsCleanly() throws {
        let folder = try F.temporaryFolder()
        let target = folder.appendingPathComponent("model.safetensors")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: false)
        try Data("inside".utf8).write(to: target.appendingPathComponent("keep"))
        XCTAssertThrowsError(try AtomicFile.write(Data("x".utf8), to: target)) { error in
            guard case let FileError.cannotWrite(path, step, code) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, target.path)
            XCTAssertEqual(step, AtomicFile.Step.rename.rawValue)
            XCTAssertTrue([EISDIR, ENOTEMPTY, EEXIST].contains(code), "\(code)")
            XCTAssertTrue(String(describing: error).hasPrefix("Cannot rename the temporary file over \(target.path): "), "\(error)")
        }
        XCTAssertEqual(try Data(contentsOf: target.appendingPathComponent("keep")), Data("inside".utf8))
        XCTAssertEqual(try contents(folder), ["model.safetensors"])
    }

    func testMissingFolderNamesThePathAndTheReason() throws {
        let url = try F.temporaryFolder().appendingPathComponent("no/such/folder/model.safetensors")
        XCTAssertThrowsError(try AtomicFile.write(Data("x".utf8), to: url)) { error in
            guard case let FileError.cannotWrite(path, _, code) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(code, ENOENT)
            XCTAssertEqual(path, url.path + ".tmp-\(getpid())")
            XCTAssertTrue(String(describing: error).contains("No such file or directory; check the folder exists and is writable"))
        }
    }

    /// A read-only folder stops the write (root bypasses permissions, so this runs only for other users).
    func testReadOnlyFolderKeepsTheOldFile() throws {
        try XCTSkipIf(geteuid() == 0, "root ignores folder permissions")
        let folder = try F.temporaryFolder()
        let url = folder.appendingPathComponent("m")
        try AtomicFile.write(Data("old".utf8), to: url)
        chmod(folder.path, 0o555)
        defer { chmod(folder.path, 0o755) }
        XCTAssertThrowsError(try AtomicFile.write(Data("new".utf8), to: url)) { error in
            guard case FileError.cannotWrite(_, _, EACCES) = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try Data(contentsOf: url), Data("old".utf8))
        XCTAssertEqual(try contents(folder), ["m"])
    }

    func testKeepsThePermissionsOfTheReplacedFile() throws {
        let folder = try F.temporaryFolder()
        let url = folder.appendingPathComponent("m")
        try AtomicFile.write(Data("old".utf8), to: url)
        chmod(url.path, 0o600)
        try AtomicFile.write(Data("new".utf8), to: url)
        let mode = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? NSNumber)
        XCTAssertEqual(mode.intValue, 0o600)
    }

    /// If only the folder flush fails, the new file is already in place and the error says so.
    func testFolderFlushFailureReportsThatTheNewFileIsInPlace() throws {
        let folder = try F.temporaryFolder()
        let url = folder.appendingPathComponent("m")
        AtomicFile.failureHook = { $0 == .syncFolder ? EIO : nil }
        XCTAssertThrowsError(try AtomicFile.write(Data("new".utf8), to: url)) { error in
            XCTAssertTrue(String(describing: error).contains("the new file is in place"), "\(error)")
        }
        XCTAssertEqual(try Data(contentsOf: url), Data("new".utf8))
        XCTAssertEqual(try contents(folder), ["m"])
    }
}
