import Foundation
@testable import Quill
import XCTest

/// The model folder's lock: one holder at a time, named when another asks.
final class FolderLockTests: XCTestCase {
    private func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("quill-lock-\(UUID())")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func testASecondLockIsRefusedNamingTheHolderAndReleaseFreesIt() throws {
        let dir = try folder()
        let first = try FolderLock(folder: dir)
        // flock locks belong to the open file, so a second open in this process is refused too.
        XCTAssertThrowsError(try FolderLock(folder: dir)) { error in
            XCTAssertEqual(error as? FolderLockError, .held(path: first.path, pid: getpid()))
            XCTAssertTrue("\(error)".contains("process \(getpid())"), "\(error)")
        }
        first.release()
        XCTAssertFalse(FileManager.default.fileExists(atPath: first.path), "the lock file is removed on release")
        let second = try FolderLock(folder: dir)
        second.release()
    }

    func testALinkInPlaceOfTheLockFileIsNotFollowed() throws {
        let dir = try folder()
        let target = dir.appendingPathComponent("elsewhere.txt")
        try Data("keep".utf8).write(to: target)
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent(FolderLock.fileName).path,
                                                   withDestinationPath: target.path)
        XCTAssertThrowsError(try FolderLock(folder: dir)) { error in
            XCTAssertTrue("\(error)".contains("symbolic link"), "\(error)")
        }
        XCTAssertEqual(try Data(contentsOf: target), Data("keep".utf8))
    }
}
