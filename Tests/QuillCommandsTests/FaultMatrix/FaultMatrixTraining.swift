import Foundation
import Quill
import XCTest

/// A `quill train` run in the background, for the fault tests that signal, race or starve it.
final class BackgroundRun {
    let process = Process()
    private let outURL: URL, errURL: URL

    /// Starts `quill` with `arguments`; its output goes to files, so it never blocks on a pipe.
    init(_ arguments: [String], environment: [String: String]? = nil) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quill-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        outURL = dir.appendingPathComponent("stdout")
        errURL = dir.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        process.executableURL = QuillBinary.url
        process.arguments = arguments
        if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var stdout: String { String(decoding: (try? Data(contentsOf: outURL)) ?? Data(), as: UTF8.self) }
    var stderr: String { String(decoding: (try? Data(contentsOf: errURL)) ?? Data(), as: UTF8.self) }

    /// Waits until `condition` holds or the run ends; returns whether it held (bounded, so a broken run cannot hang a test).
    @discardableResult
    func wait(until condition: () -> Bool, seconds: Double = 120) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            if !process.isRunning { return condition() }
            usleep(2_000)
        }
        return false
    }

    /// Waits until the run has trained and logged its first steps.
    @discardableResult
    func waitUntilTraining(_ folder: URL) -> Bool {
        wait(until: { ((try? Data(contentsOf: ModelFolder(folder).metrics))?.count ?? 0) > 0 })
    }

    /// Waits for the run to end (killing it after `seconds`); returns its exit status and how it ended.
    func finish(seconds: Double = 300) -> (status: Int32, reason: Process.TerminationReason) {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        if process.isRunning {
            kill(pid, SIGKILL)
            XCTFail("the run did not end within \(seconds) s: \(stderr)")
        }
        process.waitUntilExit()
        return (process.terminationStatus, process.terminationReason)
    }
}

/// Settings and checks shared by the training fault tests.
enum FaultRun {
    /// A tiny model that trains fast, with dropout so the generator's state matters for an exact resume.
    static let tiny = ["--embed", "8", "--hidden", "24", "--layers", "2", "--dropout", "0.2", "--batch", "4", "--seq", "16",
                       "--warmup", "5", "--doc-separator", "%", "--sample-length", "0"]

    /// `quill train corpus --out folder` with the tiny model and `extra`.
    static func arguments(_ corpus: String, _ folder: URL, _ extra: [String]) -> [String] {
        ["train", corpus, "--out", folder.path] + tiny + extra
    }

    /// Runs to the end and returns the result.
    static func train(_ corpus: String, _ folder: URL, _ extra: [String], environment: [String: String]? = nil) throws -> QuillBinary.Result {
        try QuillBinary.run(arguments(corpus, folder, extra), environment: environment.map {
            ProcessInfo.processInfo.environment.merging($0) { $1 }
        })
    }

    /// Whether stderr shows a crash report rather than sentences.
    static func hasCrashReport(_ text: String) -> Bool {
        ["Fatal error", "Backtrace", "Crash", "Stack dump", "💣", "Current stack trace"].contains { text.contains($0) }
    }

    /// The bytes of a folder's model and training state.
    static func files(_ folder: URL) -> [Data?] {
        [try? Data(contentsOf: ModelFolder(folder).model), try? Data(contentsOf: ModelFolder(folder).state)]
    }
}
