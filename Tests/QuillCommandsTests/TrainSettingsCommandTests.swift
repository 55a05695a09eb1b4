import Foundation
import Quill
@testable import QuillCommands
import XCTest

/// `quill train`'s options against the one table of settings: help, range checks, defaults, resume.
final class TrainSettingsCommandTests: XCTestCase {
    private let flags = QuillCommand.Train.settingFlags

    /// The help text with its line wrapping undone.
    private func help(_ arguments: [String]) throws -> String {
        let result = try QuillBinary.run(arguments)
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    func testEverySettingHasAnOptionWhoseHelpShowsTheTablesDefaultAndRange() throws {
        // In groups (shape, recipe, limits), so compared as sorted lists: each setting exactly once.
        XCTAssertEqual(flags.map(\.setting.name).sorted(), TrainingSettings.all.map(\.name).sorted(), "one option per setting")
        let text = try help(["train", "--help"])
        for binding in flags {
            let setting = binding.setting
            XCTAssertTrue(text.contains("\(binding.flag) <"), "help lacks \(binding.flag)")
            XCTAssertTrue(text.contains("default \(setting.defaultText)"), "help of \(binding.flag) lacks its default \(setting.defaultText)")
            XCTAssertTrue(text.contains(setting.rangeText), "help of \(binding.flag) lacks its range \(setting.rangeText)")
        }
    }

    func testEachOutOfRangeValueIsRefusedWithASentenceNamingItsFlag() throws {
        var checked = 0
        for binding in flags {
            for value in binding.setting.rejectedExamples {
                let result = try QuillBinary.run(["train", "no-such-corpus.txt", binding.flag, value])
                XCTAssertNotEqual(result.status, 0, "\(binding.flag) \(value)")
                XCTAssertFalse(result.crashed, result.stderr)
                XCTAssertTrue(result.stderr.contains("The value \(value) for \(binding.flag) is out of range; use \(binding.setting.rangeText)."),
                              "\(binding.flag) \(value): \(result.stderr)")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 40)
    }

    func testANegativeSizeIsOutOfRangeNotAMissingValue() throws {
        let result = try QuillBinary.run(["train", "no-such-corpus.txt", "--hidden", "-5"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("The value -5 for --hidden is out of range"), result.stderr)
        XCTAssertFalse(result.stderr.contains("Missing value"), result.stderr)
    }

    func testHugeModelIsRefusedByRangeBeforeAnyAllocation() throws {
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 2_000)
        let out = dir.appendingPathComponent("huge")
        let result = try QuillBinary.run(["train", corpus, "--out", out.path, "--hidden", "16384", "--layers", "64", "--embed", "16384"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertFalse(result.crashed, result.stderr)
        XCTAssertTrue(result.stderr.contains("for --embed is out of range"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "a refused run leaves no folder")
    }

    func testAnAbsurdTimeLimitIsRefusedWithASentence() throws {
        for value in ["1e300h", "1e400h", "2y", "nan", "-3m"] {
            let result = try QuillBinary.run(["train", "no-such-corpus.txt", "--time", value])
            XCTAssertNotEqual(result.status, 0, value)
            XCTAssertFalse(result.crashed, result.stderr)
            XCTAssertTrue(result.stderr.contains("--time"), "\(value): \(result.stderr)")
        }
        let result = try QuillBinary.run(["train", "no-such-corpus.txt", "--time", "1e300h"])
        XCTAssertTrue(result.stderr.contains("The value 1e300h for --time is out of range; use a duration from 0 to one year (31536000 seconds), such as 90s"), result.stderr)
    }

    func testValidationFileAndFractionContradict() throws {
        let result = try QuillBinary.run(["train", "no-such-corpus.txt", "--val", "held.txt", "--val-frac", "0.3"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("--val and --val-frac contradict each other"), result.stderr)
    }

    func testCrossChecksNameFlags() throws {
        let result = try QuillBinary.run(["train", "no-such-corpus.txt", "--lr", "1", "--weight-decay", "1"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("The --weight-decay 1 times the --lr 1 must be below 1"), result.stderr)
    }

    func testNoOptionsGiveTheTablesDefaults() throws {
        let command = try QuillCommand.Train.parse(["corpus.txt"])
        XCTAssertEqual(command.trainingConfiguration(), TrainingConfiguration())
        // A step limit replaces the default time limit; the warm-up does not depend on the limit, so a
        // run continued to a larger one saw the rates a straight run would have.
        let short = try QuillCommand.Train.parse(["corpus.txt", "--steps", "50"]).trainingConfiguration()
        XCTAssertEqual(short.steps, 50)
        XCTAssertEqual(short.timeLimit, 0)
        XCTAssertEqual(short.warmupSteps, TrainingSettings.warmupSteps.defaultValue)
        XCTAssertEqual(try QuillCommand.Train.parse(["corpus.txt", "--steps", "5000"]).trainingConfiguration().warmupSteps,
                       short.warmupSteps)
        let given = try QuillCommand.Train.parse(["corpus.txt", "--hidden", "96", "--lr", "0.01", "--time", "2m", "--decay", "linear"])
            .trainingConfiguration()
        XCTAssertEqual(given.hiddenSize, 96)
        XCTAssertEqual(given.learningRate, 0.01)
        XCTAssertEqual(given.timeLimit, 120)
        XCTAssertEqual(given.decay, .linear)
    }

    func testResumeRefusesAChangedSettingByItsFlagAndAcceptsNewLimits() throws {
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 6_000)
        let out = dir.appendingPathComponent("run")
        let tiny = ["--embed", "4", "--hidden", "8", "--layers", "1", "--batch", "2", "--seq", "8", "--doc-separator", "%",
                    "--sample-length", "0", "--eval-every", "10"]
        let first = try QuillBinary.run(["train", corpus, "--out", out.path, "--steps", "10"] + tiny)
        XCTAssertEqual(first.status, 0, first.stderr)
        let state = try Data(contentsOf: ModelFolder(out).state)

        let changed = try QuillBinary.run(["train", corpus, "--out", out.path, "--resume", "--steps", "20", "--hidden", "12"])
        XCTAssertNotEqual(changed.status, 0)
        XCTAssertTrue(changed.stderr.contains("has --hidden 8 but 12 was asked; keep the saved --hidden to resume"), changed.stderr)
        XCTAssertEqual(try Data(contentsOf: ModelFolder(out).state), state, "a refused resume touches nothing")

        let same = try QuillBinary.run(["train", corpus, "--out", out.path, "--resume", "--steps", "20", "--hidden", "8",
                                        "--doc-separator", "%", "--sample-length", "0"])
        XCTAssertEqual(same.status, 0, same.stderr)
        XCTAssertEqual(try ModelFile.read(from: ModelFolder(out).model).step, 20)
    }
}
