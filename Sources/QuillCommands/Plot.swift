import ArgumentParser
import Foundation
import Quill

extension QuillCommand {
    struct Plot: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "plot",
            abstract: "Draw the training curves of one or more runs in one figure.",
            discussion: """
            Reads each model folder's metrics.jsonl (written by quill train) and draws every run's \
            training loss (thin), validation loss (thick, a dot per evaluation) and learning rate \
            (dashed, right axis) against the optimizer step, one colour per run, with each run's \
            best validation step ringed. The figure is a plain SVG with no scripts or external \
            fonts; quill train draws its own run in FOLDER/loss.svg at every evaluation.

            Examples:
              quill plot models/kjv models/kjv-wide
              quill plot models/shakespeare --out shakespeare.svg
            """
        )

        @Argument(help: ArgumentHelp("Model folders written by quill train.", valueName: "folder"))
        var folders: [String]

        @Option(help: ArgumentHelp("The SVG file to write (default runs.svg in the current folder).", valueName: "file"))
        var out = "runs.svg"

        func validate() throws {
            if folders.isEmpty { throw ValidationError("Give at least one model folder to plot.") }
        }

        func run() throws {
            let terminal = Terminal()
            var runs: [RunMetrics] = []
            for path in folders {
                let url = SystemPath.url(path)
                guard FileSystem.kind(of: url.path) == .directory else {
                    throw CommandError("\(SafeText.escaping(SystemPath.display(path), keepLineBreaks: false)) is not a folder; give the model folders that quill train wrote.")
                }
                let name = SystemPath.display(url.standardizedFileURL.lastPathComponent)
                let run = try RunMetrics.read(folder: ModelFolder(url), name: name)
                if run.skippedLines > 0 {
                    let lines = run.skippedLines == 1 ? "1 line" : "\(run.skippedLines) lines"
                    terminal.warn("\(lines) of \(SystemPath.display(ModelFolder(url).metrics.path)) could not be read as metrics (cut short by a crash, say) and \(run.skippedLines == 1 ? "was" : "were") left out.")
                }
                runs.append(run)
            }
            let target = SystemPath.url(out)
            if FileSystem.kind(of: target.path) == .directory {
                throw CommandError("--out \(SystemPath.display(out)) is a folder; give the path of the SVG file to write.")
            }
            try LossPlot.write(runs, title: runs.count == 1 ? "Training of \(runs[0].name)" : "Training runs", to: target)
            terminal.line("wrote \(SystemPath.display(target.path)): \(runs.count) run\(runs.count == 1 ? "" : "s"), \(runs.map { $0.points.count }.reduce(0, +)) points")
        }
    }
}
