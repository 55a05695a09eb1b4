import Foundation

extension Trainer {
    /// What a run leaves beside the model after each evaluation: the snapshot of the weights when
    /// `keepSnapshots` asks for them (older ones beyond that number removed), and `loss.svg` redrawn.
    ///
    /// - Throws: `ModelFileError` or `FileError` when a file cannot be written.
    func recordEvaluation(step: Int) throws {
        if let keep = configuration.keepSnapshots {
            let file = ModelFile(configuration: model.configuration, vocabulary: vocabulary, textOptions: textOptions,
                                 weights: model.weights, step: step, info: info)
            try file.write(to: folder.snapshot(step: step))
            for old in folder.snapshotSteps().dropLast(keep) { FileSystem.remove(folder.snapshot(step: old).path) }
        }
        try LossPlot.redraw(folder, name: SystemPath.display(folder.url.lastPathComponent))
    }
}
