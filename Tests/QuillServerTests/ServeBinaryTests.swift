import Foundation
import XCTest
@testable import Quill

/// `quill serve` as a process: startup on a free port, and SIGTERM while streams run.
final class ServeBinaryTests: XCTestCase {
    final class Marker {}

    private var binary: URL {
        var dir = Bundle(for: Marker.self).bundleURL.deletingLastPathComponent()
        if !FileManager.default.fileExists(atPath: dir.appendingPathComponent("quill").path) {
            dir = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".build/debug")
        }
        return dir.appendingPathComponent("quill")
    }

    func testSIGTERMDuringStreamsEndsThemWithDoneAndExitsZero() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("quill-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try TestServer.modelFile().write(to: folder.appendingPathComponent("model.safetensors"))

        let process = Process()
        process.executableURL = binary
        process.arguments = ["serve", folder.path, "--port", "0", "--grace", "0.5", "--max-tokens", "1000000", "--precision", "float32"]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        // The first line names the port.
        var printed = ""
        while !printed.contains("\n") {
            let data = out.fileHandleForReading.availableData
            guard !data.isEmpty else { break }
            printed += String(decoding: data, as: UTF8.self)
        }
        let port = try XCTUnwrap(printed.split(separator: ":").last.flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }, printed)

        var streams: [ServerSentEvents] = []
        for seed in 0..<3 {
            let connection = try HTTPTestConnection(port: port)
            try connection.send(method: "POST", path: "/v1/completions", headers: ["Content-Type": "application/json"],
                                body: Array(#"{"max_tokens": 1000000, "stream": true, "seed": \#(seed)}"#.utf8))
            XCTAssertEqual(try connection.readHead().status, 200)
            let events = ServerSentEvents(connection)
            XCTAssertNotNil(try events.next())
            streams.append(events)
        }
        kill(process.processIdentifier, SIGTERM)
        for events in streams {
            var last: String?
            var finished = false
            while let data = try events.next() {
                if data.contains("\"finish_reason\":\"time_limit\"") { finished = true }
                last = data
            }
            XCTAssertTrue(finished)
            XCTAssertEqual(last, "[DONE]")
        }
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        XCTAssertThrowsError(try HTTPTestConnection(port: port))
        let log = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(log.contains("SIGTERM"), log)
    }
}
