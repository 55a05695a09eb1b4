import Foundation
import XCTest
@testable import Quill

/// A temporary folder for one test, removed when the test ends.
final class TemporaryFolder {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("quill-text-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// Writes bytes to a file under the folder (making subfolders) and returns its URL.
    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> URL {
        let file = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: file)
        return file
    }

    /// Writes a string as UTF-8.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> URL { try write(name, Array(text.utf8)) }
}

extension EncodedCorpus {
    /// The documents of the token stream as strings, checking the stream starts and ends with `[DOC]`.
    func documents(file: StaticString = #filePath, line: UInt = #line) -> [String] {
        XCTAssertEqual(tokens.first, Vocabulary.documentID, file: file, line: line)
        XCTAssertEqual(tokens.last, Vocabulary.documentID, file: file, line: line)
        var result: [String] = []
        var current = String.UnicodeScalarView()
        for id in tokens.dropFirst() {
            if id == Vocabulary.documentID {
                result.append(String(current))
                current = String.UnicodeScalarView()
            } else {
                current.append(vocabulary.scalar(of: id)!)
            }
        }
        return result
    }
}

/// The error a throwing call throws, as a `TokenizerError`.
func tokenizerError(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> TokenizerError? {
    do {
        try body()
        XCTFail("expected a TokenizerError, nothing was thrown", file: file, line: line)
    } catch let error as TokenizerError {
        return error
    } catch {
        XCTFail("expected a TokenizerError, got \(error)", file: file, line: line)
    }
    return nil
}
