import Foundation
import Quill
import XCTest

/// The pictures of runs: `loss.svg` written by `quill train`, and `quill plot` of several runs.
final class PlotCommandTests: XCTestCase {
    /// The train, validation and learning-rate points of a metrics.jsonl written without a resume, read independently.
    private func logged(_ folder: URL) throws -> (train: [(Int, Double)], validation: [(Int, Double)], rate: [(Int, Double)]) {
        var train: [(Int, Double)] = [], validation: [(Int, Double)] = [], rate: [(Int, Double)] = []
        for line in try ContinueTrainingCommandTests.metrics(folder) {
            let step = line["step"] as! Int
            // An evaluation's line repeats the step of the train line before it.
            if let loss = line["train_loss"] as? Double, train.last?.0 != step { train.append((step, loss)) }
            if let lr = line["lr"] as? Double, rate.last?.0 != step { rate.append((step, lr)) }
            if let loss = line["val_loss"] as? Double { validation.append((step, loss)) }
        }
        return (train, validation, rate)
    }

    func testTrainWritesALossFigureWhoseCurvesAreTheLoggedPoints() throws {
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 20_000)
        let out = dir.appendingPathComponent("run")
        _ = try ContinueTrainingCommandTests.train(corpus, out, ["--warmup", "5", "--steps", "95", "--eval-every", "20"])
        let svg = try String(contentsOf: ModelFolder(out).lossPlot, encoding: .utf8)
        let elements = try SVGElements.parse(svg)
        XCTAssertEqual(elements.found.first?.name, "svg")
        for banned in ["script", "image", "style", "foreignObject", "use"] {
            XCTAssertTrue(elements.all(banned).isEmpty, "the figure holds a \(banned) element")
        }
        XCTAssertFalse(svg.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("://"),
                       "nothing outside the file is referenced")

        let points = try logged(out)
        XCTAssertEqual(points.validation.map(\.0), [20, 40, 60, 80, 95])
        assertCarries(svgCoordinates(try XCTUnwrap(elements.all("polyline", class: "train-loss").first?["points"])), points.train)
        assertCarries(svgCoordinates(try XCTUnwrap(elements.all("polyline", class: "validation-loss").first?["points"])), points.validation)
        assertCarries(svgCoordinates(try XCTUnwrap(elements.all("polyline", class: "learning-rate").first?["points"])), points.rate)
        XCTAssertEqual(elements.all("circle", class: "validation-point").count, 5)
        let best = try XCTUnwrap(points.validation.min { $0.1 < $1.1 })
        XCTAssertEqual(elements.all("g", class: "best").first?["data-step"], "\(best.0)")
        let titles = elements.found.filter { $0.name == "title" }.map(\.text)
        XCTAssertTrue(titles.contains { $0.hasSuffix(String(format: "step %d: validation %.4f", best.0, best.1)) }, "\(titles)")
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: out.path).contains { $0.contains(".tmp-") })
    }

    func testPlotDrawsSeveralRunsInOneFigure() throws {
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 20_000)
        let a = dir.appendingPathComponent("narrow"), b = dir.appendingPathComponent("a&b <wide>")
        _ = try ContinueTrainingCommandTests.train(corpus, a, ["--warmup", "5", "--steps", "40", "--eval-every", "20"])
        _ = try ContinueTrainingCommandTests.train(corpus, b, ["--warmup", "5", "--steps", "60", "--eval-every", "20", "--lr", "0.004"])

        // The default output is runs.svg in the current folder.
        let process = Process()
        process.executableURL = QuillBinary.url
        process.arguments = ["plot", a.path, b.path]
        process.currentDirectoryURL = dir
        process.standardOutput = Pipe()
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        let elements = try SVGElements.parse(try String(contentsOf: dir.appendingPathComponent("runs.svg"), encoding: .utf8))
        let curves = elements.all("polyline", class: "validation-loss")
        XCTAssertEqual(curves.map { $0["data-run"] }, ["narrow", "a&b <wide>"])
        XCTAssertEqual(Set(curves.map { $0["stroke"] }).count, 2, "one colour per run")
        assertCarries(svgCoordinates(curves[1]["points"]!), try logged(b).validation)

        let out = dir.appendingPathComponent("pair.svg")
        let result = try QuillBinary.run(["plot", a.path, b.path, "--out", out.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("2 runs"), result.stdout)
        XCTAssertNoThrow(try SVGElements.parse(try String(contentsOf: out, encoding: .utf8)))
    }

    func testAFigureOfNamesWithMarkupAndControlsStaysWellFormed() throws {
        let run = RunMetrics(name: "a <b> & \"c\"\u{1B}[2J", points: [
            MetricsPoint(step: 10, trainLoss: 3, learningRate: 0.001), MetricsPoint(step: 20, trainLoss: 2.5, validationLoss: 2.6, learningRate: 0.002),
        ])
        let svg = LossPlot.svg([run], title: run.name)
        XCTAssertFalse(svg.contains("\u{1B}"), "control characters of a name are escaped")
        let elements = try SVGElements.parse(svg)
        XCTAssertEqual(elements.all("polyline", class: "train-loss").first?["data-run"], "a <b> & \"c\"\\x1B[2J")
    }
}
