import Foundation

extension QuillModel {
    /// Trains a new model on a corpus into `folder`, reporting progress, and loads the result.
    ///
    /// The run is the one `quill train` makes with the same corpus, text options and configuration:
    /// the last `configuration.validationFraction` of the text validates, checkpoints are written
    /// atomically into `folder`, and the weights with the best validation loss end up in
    /// `folder/model.safetensors`. Cancelling the calling task ends the run after the step in
    /// progress; its state is saved first (so `quill train --resume` can continue it) and
    /// `QuillError.cancelled` is thrown.
    /// - Parameters:
    ///   - corpus: the files to read and how they split into documents.
    ///   - textOptions: the normalization applied to the text (NFC by default).
    ///   - progress: called after every optimizer step, on the calling task.
    /// - Returns: the summary of the run and the trained model.
    /// - Throws: `QuillError.unreadableCorpus`, `.trainingFailed` or `.cancelled`.
    public static func train(corpus: CorpusSource, textOptions: TextOptions = TextOptions(),
                             configuration: TrainingConfiguration, folder: URL, precision: ComputePrecision = .bfloat16,
                             progress: (TrainingProgress) -> Void = { _ in }) async throws(QuillError) -> (summary: TrainingSummary, model: QuillModel) {
        let encoded: EncodedCorpus
        do {
            encoded = try CorpusEncoder.encode(corpus, options: textOptions)
        } catch {
            throw QuillError.unreadableCorpus(reason: "\(error)")
        }
        let summary: TrainingSummary
        let modelFolder = ModelFolder(folder)
        do {
            try configuration.validate()
            let split = try TrainingSplit.split(tokens: encoded.tokens, validationFraction: configuration.validationFraction)
            let trainer = try Trainer(configuration: configuration, training: split.training, validation: split.validation,
                                      vocabulary: encoded.vocabulary, textOptions: textOptions, folder: modelFolder)
            summary = try trainer.run(stopRequested: { Task.isCancelled ? SIGINT : nil }) { event in
                if case let .step(p) = event { progress(p) }
            }
        } catch {
            throw QuillError.trainingFailed(reason: "\(error)")
        }
        if case .interrupted = summary.reason { throw QuillError.cancelled }
        let model = try QuillModel(contentsOf: modelFolder.model, precision: precision)
        return (summary, model)
    }
}
