import Foundation
import XCTest

/// The bytes of every regular file under a folder, taken before a refused command and
/// compared after it, so a fault test shows that nothing earlier was changed.
struct FileTreeSnapshot: Equatable {
    /// Relative path to contents; symbolic links are recorded by their target, not followed.
    var files: [String: Data]

    /// Reads every file under `root` (an absent root is an empty snapshot).
    static func take(_ root: URL) -> FileTreeSnapshot {
        var files: [String: Data] = [:]
        let fm = FileManager.default
        guard let walker = fm.enumerator(atPath: root.path) else { return FileTreeSnapshot(files: [:]) }
        while let relative = walker.nextObject() as? String {
            let path = root.appendingPathComponent(relative).path
            if let target = try? fm.destinationOfSymbolicLink(atPath: path) {
                files[relative] = Data(("-> " + target).utf8)
                continue
            }
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                files[relative + "/"] = Data()
            } else if let data = fm.contents(atPath: path) {
                files[relative] = data
            }
        }
        return FileTreeSnapshot(files: files)
    }

    /// The paths whose presence or contents differ between two snapshots.
    func differences(from other: FileTreeSnapshot) -> [String] {
        Set(files.keys).union(other.files.keys).filter { files[$0] != other.files[$0] }.sorted()
    }
}

extension XCTestCase {
    /// Asserts that a run was refused as a user error: a non-zero exit (the given one, if any),
    /// a sentence on stderr containing `phrase`, and no crash report or backtrace.
    func assertRefused(_ result: QuillBinary.Result, status: Int32? = nil, saying phrase: String,
                       file: StaticString = #filePath, line: UInt = #line) {
        if let status {
            XCTAssertEqual(result.status, status, "exit status; stderr: \(result.stderr)", file: file, line: line)
        } else {
            XCTAssertNotEqual(result.status, 0, "expected a refusal; stderr: \(result.stderr)", file: file, line: line)
        }
        XCTAssertLessThan(result.status, 128, "killed by a signal or crashed: \(result.stderr)", file: file, line: line)
        for marker in ["Fatal error", "Backtrace", "Crash", "Stack dump", "💣"] {
            XCTAssertFalse(result.stderr.contains(marker), "crash report on stderr: \(result.stderr)", file: file, line: line)
        }
        XCTAssertTrue(result.stderr.localizedCaseInsensitiveContains(phrase),
                      "stderr lacks \"\(phrase)\": \(result.stderr)", file: file, line: line)
        let text = result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(text.hasSuffix(".") || text.hasSuffix(")") || text.hasSuffix("\"") || text.hasSuffix("'"),
                      "stderr is not a sentence: \(result.stderr)", file: file, line: line)
    }

    /// Asserts that nothing under `root` changed since `before` was taken.
    func assertUnchanged(_ root: URL, since before: FileTreeSnapshot, file: StaticString = #filePath, line: UInt = #line) {
        let changed = FileTreeSnapshot.take(root).differences(from: before)
        XCTAssertTrue(changed.isEmpty, "files changed under \(root.path): \(changed)", file: file, line: line)
    }
}
