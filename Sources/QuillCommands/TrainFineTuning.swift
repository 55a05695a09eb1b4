import ArgumentParser
import Foundation
import Quill

extension QuillCommand.Train {
    /// The flags of fine-tuning against each other: `--init-from` starts a new run, `--resume` continues one.
    func validateFineTuning() throws {
        if initFrom != nil && resume {
            throw ValidationError("--init-from starts a new run from a model and --resume continues a saved one; use one (a fine-tuned run is resumed with --resume alone).")
        }
        if extendVocabulary && initFrom == nil {
            throw ValidationError("--extend-vocabulary extends the vocabulary of the model given by --init-from; add --init-from or leave it out.")
        }
    }

    /// The model given by `--init-from`, read and checked, or nil without it.
    ///
    /// - Throws: a sentence when the file is missing, damaged or not a Quill model.
    func baseModel() throws -> ModelFile? {
        guard let initFrom else { return nil }
        return try readModelFile(initFrom)
    }

    /// The run's settings; with a base model, its sizes (and its dropout unless given).
    ///
    /// - Throws: a sentence when a size or text option given contradicts the base model.
    func trainingConfiguration(startingFrom base: ModelFile?) throws -> TrainingConfiguration {
        var c = trainingConfiguration()
        guard let base else { return c }
        let model = base.configuration, name = SystemPath.display(initFrom ?? "")
        let flags = Self.settingFlags
        for (given, setting, size, keyPath) in [(embed, TrainingSettings.embeddingSize, model.embeddingSize, \TrainingConfiguration.embeddingSize),
                                                (hidden, TrainingSettings.hiddenSize, model.hiddenSize, \.hiddenSize),
                                                (layers, TrainingSettings.layers, model.layers, \.layers)] {
            if let given, given != size {
                throw flags.naming(FineTuningError.differentSize(model: name, name: setting.name, size: size, given: given))
            }
            c[keyPath: keyPath] = size
        }
        if recipe.dropout == nil { c.dropout = model.dropout }
        // The normalization flags have defaults, so only a value other than the default can contradict the model.
        let asked = text.textOptions
        if asked != base.textOptions && asked != TextOptions() {
            throw flags.naming(FineTuningError.differentText(model: name, saved: base.textOptions.summary, given: asked.summary))
        }
        return c
    }

    /// The corpus in the vocabulary the run uses: the base model's (extended when asked), a resumed
    /// run's saved one (which a fine-tuned run took from its base), or the corpus's own.
    func startingVocabulary(_ encoded: EncodedCorpus, base: ModelFile?, folder: ModelFolder) throws -> EncodedCorpus {
        if let base {
            return try FineTuning.adapt(encoded, to: base.vocabulary, extend: extendVocabulary)
        }
        guard resume else { return encoded }
        let saved = try Trainer.savedVocabulary(in: folder)
        guard saved != encoded.vocabulary else { return encoded }
        do {
            return try FineTuning.adapt(encoded, to: saved, extend: false)
        } catch is FineTuningError {
            throw CheckpointError.differentCorpus(path: folder.state.path)
        }
    }
}
