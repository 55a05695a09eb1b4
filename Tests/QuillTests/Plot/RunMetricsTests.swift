import Foundation
import Quill
import XCTest

/// The reader of a run's metrics.jsonl: the history the weights had, torn lines left out.
final class RunMetricsTests: XCTestCase {
    static let metrics = """
    {"chars_per_s":100,"epoch":0.1,"lr":0.001,"step":10,"train_loss":3.5,"val_loss":null}
    {"chars_per_s":100,"epoch":0.2,"lr":0.002,"step":20,"train_loss":3.0,"val_loss":null}
    {"chars_per_s":100,"epoch":0.2,"lr":0.002,"step":20,"train_loss":3.0,"val_loss":2.9}
    {"chars_per_s":100,"epoch":0.3,"lr":0.0015,"step":30,"train_loss":2.5,"val_loss":null}
    {"chars_per_s":100,"epoch":0.3,"lr":0.0015,"step":40,"train_loss":2.1,"val_loss":null}
    {"chars_per_s":100,"epoch":0.3,"lr":0.0015,"step":30,"train_loss":2.6,"val_loss":null}
    {"chars_per_s":100,"epoch":0.4,"lr":0.001,"step":40,"train_loss":2.2,"val_loss":null}
    {"chars_per_s":100,"epoch":0.4,"lr":0.001,"step":40,"train_loss":2.2,"val_loss":2.4}
    {"chars_per_s":100,"epoch":0.5,"lr":0.0005,"st
    {"chars_per_s":100,"epoch":0.5,"lr":0.0002,"step":50,"train_loss":null,"val_loss":2.45}

    """

    func testAResumedLogKeepsTheHistoryTheWeightsHadAndSkipsATornLine() {
        let run = RunMetrics.parse(Array(Self.metrics.utf8), name: "run")
        XCTAssertEqual(run.skippedLines, 1)
        XCTAssertEqual(run.points.map(\.step), [10, 20, 30, 40, 50])
        XCTAssertEqual(run.points.map(\.trainLoss), [3.5, 3.0, 2.6, 2.2, nil], "step 30 logged again after a crash replaces the first")
        XCTAssertEqual(run.points.map(\.validationLoss), [nil, 2.9, nil, 2.4, 2.45])
        XCTAssertEqual(run.best?.step, 40)
        XCTAssertEqual(run.best?.loss, 2.4)
    }

    func testAFolderWithoutMetricsIsASentence() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("plot-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        XCTAssertThrowsError(try RunMetrics.read(folder: ModelFolder(folder), name: "x")) { error in
            XCTAssertEqual(error as? PlotError, .noMetrics(folder: folder.path))
        }
        try Data().write(to: ModelFolder(folder).metrics)
        XCTAssertThrowsError(try RunMetrics.read(folder: ModelFolder(folder), name: "x"))
    }
}
