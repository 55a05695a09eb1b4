import Foundation

/// Training curves as a plain, self-contained SVG: no script, no external font or image.
///
/// Loss (nats per character) against the optimizer step on the left axis: each run's training loss
/// as a thin line, its validation loss as a thick line with a dot per evaluation (hovering a dot
/// shows its step and value), the best validation step marked. The learning rate is a dashed line on
/// the right axis. Several runs share the axes, one colour each. Curves are `polyline`s whose classes
/// (`train-loss`, `validation-loss`, `learning-rate`) and `data-run` attribute name what they draw.
public enum LossPlot {
    static let width = 880.0, height = 520.0
    static let left = 72.0, right = 84.0, bottom = 56.0
    static let colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]

    /// Replaces `url` atomically with the figure of `runs`.
    ///
    /// - Throws: `FileError.cannotWrite` when the file cannot be written (the old one stays whole).
    public static func write(_ runs: [RunMetrics], title: String, to url: URL) throws {
        try AtomicFile.write(Data(svg(runs, title: title).utf8), to: url)
    }

    /// Redraws `loss.svg` of a model folder from its `metrics.jsonl`; a folder with no metrics yet is left as it is.
    ///
    /// - Throws: `FileError` when the metrics cannot be read or the figure cannot be written.
    public static func redraw(_ folder: ModelFolder, name: String) throws {
        guard FileSystem.kind(of: folder.metrics.path) == .regular else { return }
        let run = RunMetrics.parse(Array(try FileReader.read(folder.metrics)), name: name)
        guard !run.points.isEmpty else { return }
        try write([run], title: "Training of \(name)", to: folder.lossPlot)
    }

    /// The SVG document of `runs` under `title`.
    public static func svg(_ runs: [RunMetrics], title: String) -> String {
        let points = runs.flatMap(\.points)
        let losses = points.flatMap { [$0.trainLoss, $0.validationLoss].compactMap { $0 } }
        let rates = points.compactMap(\.learningRate)
        let steps = Axis.nice(low: 0, high: Double(points.map(\.step).max() ?? 1), ticks: 8)
        let loss = Axis.nice(low: losses.min() ?? 0, high: lossCeiling(runs) ?? 1, ticks: 6)
        let rate = Axis.nice(low: 0, high: rates.max() ?? 1, ticks: 6)
        let top = 66 + 16 * Double((runs.count + 1) / 2)  // room for the title, the key and the legend, two runs a row
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        func x(_ step: Int) -> Double { left + plotWidth * (Double(step) - steps.low) / (steps.high - steps.low) }
        func yLoss(_ value: Double) -> Double { top + plotHeight * (loss.high - value) / (loss.high - loss.low) }
        func yRate(_ value: Double) -> Double { top + plotHeight * (rate.high - value) / (rate.high - rate.low) }

        var svg = SVGText(width: width, height: height)
        svg.add("<title>\(xml(title))</title>")
        svg.add("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>")
        svg.add("<text x=\"\(f(left))\" y=\"24\" font-size=\"16\" font-weight=\"bold\">\(xml(title))</text>")
        // Grid, ticks and axis labels.
        svg.add("<g class=\"axes\" stroke=\"#ddd\" stroke-width=\"1\">")
        for tick in steps.ticks { svg.add("<line x1=\"\(f(x(Int(tick))))\" y1=\"\(f(top))\" x2=\"\(f(x(Int(tick))))\" y2=\"\(f(top + plotHeight))\"/>") }
        for tick in loss.ticks { svg.add("<line x1=\"\(f(left))\" y1=\"\(f(yLoss(tick)))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(yLoss(tick)))\"/>") }
        svg.add("</g>")
        svg.add("<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\" fill=\"none\" stroke=\"#333\"/>")
        svg.add("<g font-size=\"11\" fill=\"#333\">")
        for tick in steps.ticks {
            svg.add("<text x=\"\(f(x(Int(tick))))\" y=\"\(f(top + plotHeight + 16))\" text-anchor=\"middle\">\(Axis.label(tick))</text>")
        }
        for tick in loss.ticks {
            svg.add("<text x=\"\(f(left - 6))\" y=\"\(f(yLoss(tick) + 4))\" text-anchor=\"end\">\(Axis.label(tick))</text>")
        }
        if !rates.isEmpty {
            for tick in rate.ticks {
                svg.add("<text x=\"\(f(left + plotWidth + 6))\" y=\"\(f(yRate(tick) + 4))\">\(Axis.label(tick))</text>")
            }
        }
        svg.add("<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(height - 12))\" text-anchor=\"middle\">optimizer step</text>")
        svg.add("<text transform=\"translate(18 \(f(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">loss (nats per character)</text>")
        if !rates.isEmpty {
            svg.add("<text transform=\"translate(\(f(width - 14)) \(f(top + plotHeight / 2))) rotate(90)\" text-anchor=\"middle\">learning rate (dashed)</text>")
        }
        svg.add("</g>")

        // Curves, one colour per run, clipped to the plot area (the first steps' loss may lie above it).
        svg.add("<clipPath id=\"plot-area\"><rect x=\"\(f(left))\" y=\"\(f(top - 8))\" width=\"\(f(plotWidth + 8))\" height=\"\(f(plotHeight + 16))\"/></clipPath>")
        svg.add("<g clip-path=\"url(#plot-area)\">")
        for (index, run) in runs.enumerated() {
            let colour = colours[index % colours.count]
            let name = xml(run.name)
            func polyline(_ kind: String, _ values: [(Int, Double)], _ y: (Double) -> Double, _ style: String) {
                guard !values.isEmpty else { return }
                let coordinates = values.map { "\(f(x($0.0))),\(f(y($0.1)))" }.joined(separator: " ")
                svg.add("<polyline class=\"\(kind)\" data-run=\"\(name)\" fill=\"none\" stroke=\"\(colour)\" \(style) points=\"\(coordinates)\"/>")
            }
            let train = run.points.compactMap { p in p.trainLoss.map { (p.step, $0) } }
            let validation = run.points.compactMap { p in p.validationLoss.map { (p.step, $0) } }
            let learning = run.points.compactMap { p in p.learningRate.map { (p.step, $0) } }
            polyline("learning-rate", learning, yRate, "stroke-width=\"1\" stroke-dasharray=\"5 4\" stroke-opacity=\"0.6\"")
            polyline("train-loss", train, yLoss, "stroke-width=\"1\" stroke-opacity=\"0.45\"")
            polyline("validation-loss", validation, yLoss, "stroke-width=\"2.5\"")
            for (step, value) in validation {
                svg.add("<circle class=\"validation-point\" data-run=\"\(name)\" cx=\"\(f(x(step)))\" cy=\"\(f(yLoss(value)))\" r=\"3\" fill=\"\(colour)\"><title>\(name) step \(step): validation \(String(format: "%.4f", value))</title></circle>")
            }
            if let best = run.best {
                let bx = x(best.step), by = yLoss(best.loss)
                svg.add("<g class=\"best\" data-run=\"\(name)\" data-step=\"\(best.step)\"><line x1=\"\(f(bx))\" y1=\"\(f(top))\" x2=\"\(f(bx))\" y2=\"\(f(top + plotHeight))\" stroke=\"\(colour)\" stroke-dasharray=\"2 3\"/><circle cx=\"\(f(bx))\" cy=\"\(f(by))\" r=\"7\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"/><title>\(name) best: \(String(format: "%.4f", best.loss)) at step \(best.step)</title></g>")
            }
        }

        svg.add("</g>")

        // Legend: each run's name and best; the key of the line styles is under the title.
        for (index, run) in runs.enumerated() {
            let colour = colours[index % colours.count]
            let best = run.best.map { String(format: " (best %.4f at step %d)", $0.loss, $0.step) } ?? ""
            let column = left + Double(index % 2) * 380, row = 62 + 16 * Double(index / 2)
            svg.add("<g font-size=\"12\"><rect x=\"\(f(column))\" y=\"\(f(row - 9))\" width=\"14\" height=\"4\" fill=\"\(colour)\"/><text x=\"\(f(column + 20))\" y=\"\(f(row - 4))\">\(xml(run.name))\(best)</text></g>")
        }
        svg.add("<text x=\"\(f(left))\" y=\"42\" font-size=\"11\" fill=\"#555\">thin: train loss, thick: validation loss, dashed: learning rate (right axis), ring: best validation</text>")
        return svg.document
    }

    /// The top of the loss axis: every validation loss and nine in ten training losses fit below it, so
    /// the first steps' loss, far above the rest, does not squeeze the curves that matter.
    static func lossCeiling(_ runs: [RunMetrics]) -> Double? {
        let validation = runs.flatMap { $0.points.compactMap(\.validationLoss) }
        let train = runs.flatMap { $0.points.compactMap(\.trainLoss) }.sorted()
        let trainCeiling = train.isEmpty ? nil : train[min(train.count - 1, train.count * 9 / 10)]
        return [validation.max(), trainCeiling].compactMap { $0 }.max()
    }

    /// A coordinate with two decimals.
    static func f(_ value: Double) -> String { String(format: "%.2f", value) }

    /// Text safe inside an SVG element or attribute: controls escaped (see `SafeText`), then XML's five characters.
    static func xml(_ text: String) -> String {
        var out = ""
        for character in SafeText.escaping(text, keepLineBreaks: false) {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }
}

/// The lines of an SVG document.
struct SVGText {
    private var lines: [String]

    init(width: Double, height: Double) {
        lines = ["<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
                 "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\">"]
    }

    mutating func add(_ line: String) { lines.append(line) }

    var document: String { (lines + ["</svg>", ""]).joined(separator: "\n") }
}

/// An axis range rounded out to round numbers, with its ticks.
struct Axis {
    var low: Double
    var high: Double
    var ticks: [Double]

    /// A range covering `low...high` whose ends and about `ticks` ticks fall on 1, 2 or 5 times a power of ten.
    static func nice(low: Double, high: Double, ticks count: Int) -> Axis {
        var low = low, high = high
        if !(high > low) { high = low + max(abs(low) * 0.1, 1e-6) }
        let raw = (high - low) / Double(max(count, 1))
        let power = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= raw } ?? 10 * power
        low = floor(low / step) * step
        high = ceil(high / step) * step
        var ticks: [Double] = []
        var tick = low
        while tick <= high + step / 2 {
            ticks.append(tick)
            tick += step
        }
        return Axis(low: low, high: high, ticks: ticks)
    }

    /// A tick's label: short and without float noise (`0.002`, `1.5`, `2000`).
    static func label(_ value: Double) -> String {
        if value == 0 { return "0" }
        if abs(value) >= 1e6 || abs(value) < 1e-5 { return String(format: "%.0e", value) }
        var text = String(format: "%.5f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}
