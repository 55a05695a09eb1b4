import Foundation
import XCTest

/// Runs the built `quill` binary as a user would.
enum QuillBinary {
    /// The `quill` executable beside the test bundle.
    static var url: URL {
        var dir = Bundle(for: Marker.self).bundleURL.deletingLastPathComponent()
        if !FileManager.default.fileExists(atPath: dir.appendingPathComponent("quill").path) {
            dir = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".build/debug")
        }
        return dir.appendingPathComponent("quill")
    }

    final class Marker {}

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `quill` with arguments, waiting for it to exit.
    static func run(_ arguments: [String], stdin: Data? = nil, environment: [String: String]? = nil) throws -> Result {
        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        // Read both pipes concurrently so a chatty child never blocks on a full pipe.
        var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }
}

final class CommandLineTests: XCTestCase {
    func testHelpListsEverySubcommand() throws {
        let result = try QuillBinary.run(["--help"])
        XCTAssertEqual(result.status, 0)
        for name in ["train", "sample", "eval", "inspect", "bench"] {
            XCTAssertTrue(result.stdout.contains(name), "help lacks \(name): \(result.stdout)")
        }
    }

    func testUnknownOptionIsASentenceAndNonZeroExit() throws {
        let result = try QuillBinary.run(["--no-such-flag"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("no-such-flag"), result.stderr)
    }
}
