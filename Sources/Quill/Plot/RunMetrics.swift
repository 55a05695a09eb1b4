import Foundation

/// One logged line of a run's `metrics.jsonl`: the step and whatever was measured there.
public struct MetricsPoint: Equatable, Sendable {
    public var step: Int
    /// Training loss of the step, nats per character.
    public var trainLoss: Double?
    /// Validation loss, nats per character, on the lines written after an evaluation.
    public var validationLoss: Double?
    public var learningRate: Double?

    public init(step: Int, trainLoss: Double? = nil, validationLoss: Double? = nil, learningRate: Double? = nil) {
        self.step = step
        self.trainLoss = trainLoss
        self.validationLoss = validationLoss
        self.learningRate = learningRate
    }
}

/// The logged curves of one training run, read from the `metrics.jsonl` of its model folder.
public struct RunMetrics: Sendable {
    /// The run's name in a legend (its folder's name).
    public var name: String
    /// Points in step order. A step logged again (a run resumed from an earlier checkpoint after a
    /// crash) replaces what was logged from that step on, so each curve is the history the weights had.
    public var points: [MetricsPoint]
    /// Lines that were not a JSON object with a whole-number `step` (a line torn by a crash), left out.
    public var skippedLines: Int

    public init(name: String, points: [MetricsPoint], skippedLines: Int = 0) {
        self.name = name
        self.points = RunMetrics.history(points)
        self.skippedLines = skippedLines
    }

    /// The step of the lowest validation loss, and that loss.
    public var best: (step: Int, loss: Double)? {
        var best: (step: Int, loss: Double)?
        for point in points {
            if let loss = point.validationLoss, loss < (best?.loss ?? .infinity) { best = (point.step, loss) }
        }
        return best
    }

    /// Reads the metrics of the model folder at `folder`.
    ///
    /// - Throws: `PlotError.noMetrics` when the folder holds no `metrics.jsonl` or it has no point,
    ///   `FileError` when it cannot be read.
    public static func read(folder: ModelFolder, name: String) throws -> RunMetrics {
        let path = folder.metrics.path
        guard FileSystem.kind(of: path) == .regular else { throw PlotError.noMetrics(folder: folder.url.path) }
        let metrics = parse(Array(try FileReader.read(folder.metrics)), name: name)
        guard !metrics.points.isEmpty else { throw PlotError.noMetrics(folder: folder.url.path) }
        return metrics
    }

    /// The points of the JSON Lines in `bytes`; a line that does not parse is counted and left out.
    public static func parse(_ bytes: [UInt8], name: String) -> RunMetrics {
        var points: [MetricsPoint] = []
        var skipped = 0
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            guard line.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) else { continue }
            guard case let .object(members)? = try? StrictJSON.parse(line),
                  let step = members.first(where: { $0.key == "step" })?.value.nonNegativeInteger else {
                skipped += 1
                continue
            }
            func number(_ key: String) -> Double? {
                guard case let .number(lexeme)? = members.first(where: { $0.key == key })?.value,
                      let x = Double(lexeme), x.isFinite else { return nil }
                return x
            }
            points.append(MetricsPoint(step: step, trainLoss: number("train_loss"), validationLoss: number("val_loss"),
                                       learningRate: number("lr")))
        }
        return RunMetrics(name: name, points: points, skippedLines: skipped)
    }

    /// The points as the weights lived them: a step at or before an earlier one drops what came after it.
    private static func history(_ points: [MetricsPoint]) -> [MetricsPoint] {
        var kept: [MetricsPoint] = []
        for point in points {
            // An evaluation's line follows the train line of its step: one point with both.
            if let last = kept.last, last.step == point.step, last.validationLoss == nil, point.validationLoss != nil {
                kept[kept.count - 1].validationLoss = point.validationLoss
                kept[kept.count - 1].trainLoss = last.trainLoss ?? point.trainLoss
                kept[kept.count - 1].learningRate = last.learningRate ?? point.learningRate
                continue
            }
            while let last = kept.last, last.step >= point.step { kept.removeLast() }
            kept.append(point)
        }
        return kept
    }
}

/// A figure that cannot be drawn.
public enum PlotError: Error, Equatable, CustomStringConvertible {
    /// The folder holds no metrics to draw.
    case noMetrics(folder: String)

    public var description: String {
        switch self {
        case let .noMetrics(folder):
            return "The folder \(folder) holds no training metrics (metrics.jsonl) to plot; give the folder of a model that quill train wrote."
        }
    }
}
