import Quill
import XCTest

/// The table of training settings against the configuration it declares.
final class TrainingSettingsTests: XCTestCase {
    func testEveryConfigurationFieldIsDeclaredOnceInTheTable() {
        let fields = Mirror(reflecting: TrainingConfiguration()).children.compactMap(\.label)
        let names = TrainingSettings.all.map(\.name)
        XCTAssertEqual(names, fields, "one setting per field, in the fields' order")
        XCTAssertEqual(Set(names).count, names.count)
    }

    func testDefaultsAreTheTablesAndValid() throws {
        let defaults = TrainingConfiguration()
        for setting in TrainingSettings.all {
            XCTAssertTrue(setting.holdsDefault(defaults), setting.name)
        }
        XCTAssertNoThrow(try defaults.validate())
        // The library's defaults are the command's: ten minutes, no step or epoch limit.
        XCTAssertEqual(defaults.timeLimit, 600)
        XCTAssertEqual(defaults.steps, 0)
        XCTAssertEqual(defaults.epochs, 0)
    }

    func testHelpGivesDefaultRangeAndNoFlag() {
        for setting in TrainingSettings.all {
            XCTAssertTrue(setting.help.contains("default \(setting.defaultText)"), setting.help)
            XCTAssertTrue(setting.help.contains(setting.rangeText), setting.help)
            XCTAssertTrue(setting.help.hasSuffix("."), setting.help)
            XCTAssertFalse(setting.help.contains("--"), setting.help)
        }
    }

    func testOnlyLimitsEvaluationCadenceAndSnapshotsChangeOnResume() {
        let changeable = TrainingSettings.all.filter { !$0.fixedOnResume }.map(\.name)
        XCTAssertEqual(Set(changeable), ["steps", "epochs", "timeLimit", "evalEvery", "earlyStopPatience", "keepSnapshots"])
        var saved = TrainingConfiguration()
        saved.hiddenSize = 128
        var limits = TrainingConfiguration()
        limits.steps = 77
        limits.hiddenSize = 999
        let resumed = saved.resumed(with: limits)
        XCTAssertEqual(resumed.steps, 77)
        XCTAssertEqual(resumed.hiddenSize, 128)
    }

    func testSizesAreBoundedBeforeAnyAllocation() {
        var c = TrainingConfiguration()
        c.hiddenSize = 16_384
        c.layers = 64
        c.embeddingSize = 16_384
        XCTAssertThrowsError(try c.validate())
        XCTAssertFalse(TrainingSettings.hiddenSize.contains(16_384))
        XCTAssertFalse(TrainingSettings.layers.contains(64))
        XCTAssertFalse(TrainingSettings.embeddingSize.contains(16_384))
    }
}

/// Each default is written once: in the table, nowhere else in the sources.
final class TrainingDefaultsInSourcesTests: XCTestCase {
    private func source(_ path: String) throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    func testTheConfigurationTakesEveryDefaultFromTheTable() throws {
        let text = try source("Sources/Quill/Training/TrainingConfiguration.swift")
        let fields = text.split(separator: "\n").filter { $0.contains("public var ") && $0.contains(" = ") }
        XCTAssertEqual(fields.count, TrainingSettings.all.count)
        for (line, setting) in zip(fields, TrainingSettings.all) {
            XCTAssertTrue(line.hasSuffix("= TrainingSettings.\(setting.name).defaultValue"), String(line))
        }
    }

    func testTheCommandsRetypeNoDefault() throws {
        for path in ["Sources/QuillCommands/Train.swift", "Sources/QuillCommands/BenchEngine.swift"] {
            let text = try source(path)
            for setting in TrainingSettings.all {
                XCTAssertFalse(text.contains("default \(setting.defaultText)"), "\(path) retypes the default of \(setting.name)")
            }
            XCTAssertFalse(text.contains("default 10m"), path)
        }
    }
}
