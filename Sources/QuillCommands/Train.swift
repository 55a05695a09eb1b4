import ArgumentParser
import Foundation
import Quill

extension LearningRateDecay: ExpressibleByArgument {}
extension DropoutMasks: ExpressibleByArgument {}
extension ModelSize: ExpressibleByArgument {}
extension RegularizationPreset: ExpressibleByArgument {}

extension QuillCommand {
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "train",
            abstract: "Train a model on a corpus.",
            discussion: """
            Trains an LSTM language model with truncated backpropagation through time: the \
            training text is cut into --batch contiguous lanes, each step reads the next --seq \
            characters of every lane, and the state carries from window to window (reset before \
            every [DOC]). The end of the corpus (--val-frac) is held out and scored every \
            --eval-every steps; the best model is kept in OUT/model.safetensors.

            With no limit given, training runs for 10 minutes. Ctrl-C finishes the step, saves \
            a checkpoint and exits with status 130 (SIGTERM 143, SIGHUP 129, SIGQUIT 131); --resume \
            continues exactly where it stopped.

            Examples:
              quill train corpora/data/kjv.txt --doc-separator %
              quill train shakespeare.txt --time 30m --hidden 1024 --dropout 0.2
              quill train shakespeare.txt --out models/shakespeare --resume --steps 20000
              quill train shakespeare.txt --init-from models/kjv --out models/kjv-shakespeare --time 2m
            """
        )

        @Argument(help: ArgumentHelp("Text files or folders to train on (a folder holds one document per file), or a folder written by quill prepare.", valueName: "corpus"))
        var corpus: [String]

        @OptionGroup(title: "Text")
        var text: CorpusOptions

        @Option(help: ArgumentHelp("Model folder to write (default: models/NAME, after the first corpus path).", valueName: "folder"))
        var out: String?

        @Flag(help: "Continue the run saved in the model folder: weights, optimizer, data position and random generator.")
        var resume = false

        @Flag(help: "Start over even if the model folder already holds a run.")
        var force = false

        @Option(name: .customLong("init-from"), help: ArgumentHelp(
            "Fine-tune: start from this model's weights, vocabulary and normalization (a model file or its folder), with a fresh optimizer and schedule.",
            valueName: "model"))
        var initFrom: String?

        @Flag(name: .customLong("extend-vocabulary"), help: "With --init-from: give characters the model lacks new rows, initialised as a new model's, instead of refusing them.")
        var extendVocabulary = false

        @Option(help: ArgumentHelp("Validate on this file instead of holding out the corpus's end.", valueName: "file"))
        var val: String?

        // Training settings: help, ranges and defaults come from `TrainingSettings`; each is bound to
        // its setting in `settingFlags`. The model shape and optimizer are taken from the saved run when resuming.
        @Option(help: ArgumentHelp(TrainingSettings.size.help)) var size: ModelSize?
        @Option(parsing: .unconditional, help: ArgumentHelp(TrainingSettings.embeddingSize.help)) var embed: Int?
        @Option(parsing: .unconditional, help: ArgumentHelp(TrainingSettings.hiddenSize.help)) var hidden: Int?
        @Option(parsing: .unconditional, help: ArgumentHelp(TrainingSettings.layers.help)) var layers: Int?
        @Option(parsing: .unconditional, help: ArgumentHelp(TrainingSettings.batch.help)) var batch: Int?
        @Option(parsing: .unconditional, help: ArgumentHelp(TrainingSettings.seq.help)) var seq: Int?
        @Option(help: ArgumentHelp(TrainingSettings.precision.help)) var precision: ComputePrecision?
        @OptionGroup(title: "Regularization, optimizer, schedule and seed")
        var recipe: RecipeOptions

        // Limits and evaluation.
        @Option(parsing: .unconditional, help: ArgumentHelp(TrainingSettings.steps.help)) var steps: Int?
        @Option(parsing: .unconditional, help: ArgumentHelp(TrainingSettings.epochs.help)) var epochs: Int?
        @Option(parsing: .unconditional, help: ArgumentHelp(TrainingSettings.timeLimit.help, valueName: "duration"))
        var time: WallClock?
        @Option(name: .customLong("eval-every"), parsing: .unconditional, help: ArgumentHelp(TrainingSettings.evalEvery.help))
        var evalEvery: Int?
        @Option(name: .customLong("val-frac"), parsing: .unconditional, help: ArgumentHelp(TrainingSettings.validationFraction.help))
        var valFrac: Double?
        @Option(parsing: .unconditional, help: ArgumentHelp(TrainingSettings.earlyStopPatience.help)) var patience: Int?
        @Option(parsing: .unconditional, help: ArgumentHelp(TrainingSettings.keepSnapshots.help)) var keep: Int?

        /// Each training option bound to its setting.
        static let settingFlags: [SettingFlag<Train>] = shapeFlags + recipeFlags + limitFlags

        private static let shapeFlags: [SettingFlag<Train>] = [
            SettingFlag("--size", TrainingSettings.size) { $0.size },
            SettingFlag("--embed", TrainingSettings.embeddingSize) { $0.embed },
            SettingFlag("--hidden", TrainingSettings.hiddenSize) { $0.hidden },
            SettingFlag("--layers", TrainingSettings.layers) { $0.layers },
            SettingFlag("--batch", TrainingSettings.batch) { $0.batch },
            SettingFlag("--seq", TrainingSettings.seq) { $0.seq },
        ]
        private static let recipeFlags: [SettingFlag<Train>] = RecipeOptions.settingFlags.map { flag in
            flag.lifted { (train: Train) -> RecipeOptions in train.recipe }
        }
        private static let limitFlags: [SettingFlag<Train>] = [
            SettingFlag("--steps", TrainingSettings.steps) { $0.steps },
            SettingFlag("--epochs", TrainingSettings.epochs) { $0.epochs },
            SettingFlag("--time", TrainingSettings.timeLimit, { $0.time }, convert: \.seconds),
            SettingFlag("--eval-every", TrainingSettings.evalEvery) { $0.evalEvery },
            SettingFlag("--val-frac", TrainingSettings.validationFraction) { $0.valFrac },
            SettingFlag("--patience", TrainingSettings.earlyStopPatience) { $0.patience },
            SettingFlag("--keep", TrainingSettings.keepSnapshots, { $0.keep }, convert: { Optional($0) }),
            SettingFlag("--precision", TrainingSettings.precision) { $0.precision },
        ]

        @Option(name: .customLong("sample-length"), parsing: .unconditional, help: "Characters of the sample printed at the end (default 300; 0 for none).")
        var sampleLength = 300

        @OptionGroup(title: "Memory")
        var memory: MemoryOptions

        func validate() throws {
            if resume && force { throw ValidationError("--resume and --force contradict each other; use one.") }
            if val != nil && valFrac != nil {
                throw ValidationError("--val and --val-frac contradict each other: --val validates on another file, --val-frac holds out the corpus's end; use one.")
            }
            try validateFineTuning()
            if sampleLength < 0 || sampleLength > 100_000 { throw ValidationError("--sample-length must be from 0 to 100000, not \(sampleLength).") }
            try Self.settingFlags.validate(self)
            do {
                try trainingConfiguration().validate()
            } catch {
                throw ValidationError("\(Self.settingFlags.naming(error))")
            }
        }

        /// The run's settings from the defaults and the flags given.
        func trainingConfiguration() -> TrainingConfiguration {
            var c = Self.settingFlags.configuration(self)
            // The default time limit applies only when no other limit is given.
            if (steps != nil || epochs != nil) && time == nil { c.timeLimit = 0 }
            return c
        }

        func run() throws {
            StopSignal.install()
            let ranks = TrainRanks.forThisProcess()
            let terminal = Terminal()
            let base = try baseModel()  // --init-from, read before the folder is touched
            let configuration = try trainingConfiguration(startingFrom: base)
            try configuration.validate()
            let folder = ModelFolder(SystemPath.url(out ?? defaultFolder()))
            let place = TrainingFolder(folder: folder, resume: resume, force: force)
            do {
                // Rank 0 alone checks and touches the folder.
                if ranks.communicator.isRoot { try place.check(corpus: corpus + (val.map { [$0] } ?? [])) }
                try train(configuration, base: base, place: place, terminal: terminal, ranks: ranks)
            } catch {
                throw Self.settingFlags.naming(error)
            }
        }

        /// Every check that can refuse the run, then the folder and its lock, then the training.
        private func train(_ configuration: TrainingConfiguration, base: ModelFile?, place: TrainingFolder, terminal: Terminal,
                           ranks: TrainRanks) throws {
            let folder = place.folder
            var configuration = configuration
            var shape = configuration
            let textOptions = base?.textOptions ?? text.textOptions
            if resume {
                // The saved run's split, so the same characters are held out.
                let saved = try Trainer.savedConfiguration(in: folder)
                try checkResumeFlags(saved, folder)
                configuration.validationFraction = saved.validationFraction
                shape = saved
            }
            let corpusBytes = try corpusByteCount()
            try memory.check(Self.estimate(shape, vocabularySize: base?.vocabulary.count ?? 2, corpusBytes: corpusBytes))

            let data = try loadCorpus(&configuration, textOptions: textOptions, base: base, folder: folder, terminal: terminal)
            let trainingCount = data.data.training.count
            if trainingCount < shape.batch * (shape.seq + 1) {
                throw TrainingError.corpusTooShort(tokens: trainingCount, needed: shape.batch * (shape.seq + 1), batch: shape.batch, seq: shape.seq)
            }
            // The rules count a time limit in this machine's speed, measured when first asked, after
            // every refusal that needs no size, and only for a model that fits the memory allowed.
            if !resume { try ranks.checkLanes(batch: configuration.batch) }
            if !resume && precision == nil {
                // --precision: from the CPU, before the speeds the other rules count in.
                let choice = PrecisionRule.choose(communicator: ranks.communicator)
                configuration.precision = choice.precision
                shape = configuration
                terminal.line("precision: " + choice.reason)
            }
            let probed = configuration, vocabularySize = data.vocabulary.count
            let speeds = MeasuredSpeeds(configuration: configuration, vocabularySize: vocabularySize,
                                        communicator: ranks.communicator, terminal: terminal) { width in
                var candidate = probed
                candidate.hiddenSize = width
                candidate.layers = 2
                return (try? memory.check(Self.estimate(candidate, vocabularySize: vocabularySize, corpusBytes: corpusBytes))) != nil
            }
            if !resume && base == nil && (hidden == nil || layers == nil) {
                // --size: the width and depth not given, from the corpus and the budget.
                let choice = ModelSizeRule.choose(configuration.size, corpusCharacters: trainingCount,
                                                  configuration: configuration, speed: speeds.charactersPerSecond(width:))
                if hidden == nil { configuration.hiddenSize = choice.hiddenSize }
                if layers == nil { configuration.layers = choice.layers }
                shape = configuration
                terminal.line("size: " + choice.reason + (hidden != nil || layers != nil ? " (--hidden or --layers given overrides it)" : ""))
            }
            if !resume {
                // --regularization: the recipe's parts not given (dropout, DropConnect, ...), from the budget.
                let choice = recipe.applyRegularization(to: &configuration, corpusCharacters: trainingCount) {
                    speeds.charactersPerSecond(width: ModelSizeRule.widths[.medium]!)
                }
                shape = configuration
                let overridden = recipe.givenParts(of: choice)
                let verb = overridden.count == 1 ? "overrides its part" : "override their parts"
                let note = overridden.isEmpty ? "" : " (\(overridden.joined(separator: ", ")) given \(verb))"
                terminal.line("regularization: " + choice.reason + note)
            }
            if evalEvery == nil {
                // --eval-every: from the validation split's length and the (saved, when resuming) window.
                let choice = EvaluationInterval.choose(validationCharacters: data.data.validation.count,
                                                       charactersPerStep: shape.batch * shape.seq)
                configuration.evalEvery = choice.steps
                terminal.line("evaluation: " + choice.reason)
            }
            let modelShape = shape.modelConfiguration(vocabularySize: data.vocabulary.count)
            try modelShape.validate()
            try memory.check(Self.estimate(shape, vocabularySize: data.vocabulary.count, corpusBytes: corpusBytes))
            if ranks.communicator.isRoot { try place.checkDiskSpace(checkpointBytes: MemoryEstimate.checkpointBytes(modelShape, average: shape.ema > 0)) }
            if let signal = StopSignal.received {
                terminal.clearLive()
                StandardStream.error.writeKeepingFailure("Stopped by \(StopSignal.name(signal)) before training began; nothing was written.\n")
                throw ExitCode(StopSignal.exitStatus(signal))
            }
            try terminal.check()  // output that cannot be written refuses the run before any training
            // Names as text (raw bytes written \xFF), so the metadata holds no stand-in scalars of SystemPath.
            var info = ["corpus": corpus.map { SystemPath.display(URL(fileURLWithPath: $0).lastPathComponent) }.joined(separator: ",")]
            if let initFrom { info["init_from"] = SystemPath.display(initFrom) }

            let session = ranks.communicator.isRoot ? try place.open() : nil
            let trainer: Trainer
            do {
                if resume {
                    trainer = try Trainer(resuming: folder, limits: configuration, data: data.data,
                                          vocabulary: data.vocabulary, textOptions: data.textOptions, info: info,
                                          keepSchedule: recipe.decaySteps != nil, communicator: ranks.communicator)
                    if let change = trainer.scheduleChange { terminal.line(change.description) }
                } else {
                    trainer = try Trainer(configuration: configuration, data: data.data,
                                          vocabulary: data.vocabulary, textOptions: data.textOptions, folder: folder, info: info,
                                          startingFrom: base, communicator: ranks.communicator)
                }
                try ranks.checkAgreement(configuration: trainer.configuration, dataFingerprint: trainer.dataFingerprint,
                                         step: trainer.completedSteps)
            } catch {
                session?.abandon()
                throw error
            }
            if let base, let initFrom {
                let added = trainer.vocabulary.scalars.filter { base.vocabulary.id(of: $0) == nil }
                let shown = added.map { SafeText.escaping(String($0), keepLineBreaks: false) }.joined(separator: " ")
                let extended = added.isEmpty ? "" : "; vocabulary extended by \(added.count) (\(shown))"
                terminal.line("from: \(SystemPath.display(initFrom)), \(base.vocabulary.scalars.count) characters\(extended); a fresh optimizer and schedule")
            }
            if let note = BLAS.coreNote { terminal.line("blas: " + note) }
            let c = trainer.model.configuration
            let parameters = trainer.model.layout.count
            terminal.line("model: \(Format.count(Double(parameters))) parameters (embed \(c.embeddingSize), hidden \(c.hiddenSize), layers \(c.layers), dropout \(c.dropout)); batch \(trainer.configuration.batch) x seq \(trainer.configuration.seq); writing \(folder.url.path)")

            let reporter = ProgressReporter(terminal: terminal)
            let summary: TrainingSummary
            do {
                summary = try trainer.run(stopRequested: { StopSignal.received }, events: reporter.handle)
            } catch let error as TrainingError {
                session?.finish()
                terminal.clearLive()
                throw CommandError("\(error.description(naming: Self.settingFlags.flag(for:))) The last good checkpoint in \(folder.url.path) is intact.")
            } catch {
                // A first checkpoint that could not be written leaves the folder as it was.
                session?.abandon()
                terminal.clearLive()
                throw error
            }
            session?.finish()
            terminal.clearLive()
            let agreement = try ranks.checkSameWeights(trainer.model.weights)
            ranks.finish()
            for line in [ranks.reduceSummary, agreement].compactMap({ $0 }) { terminal.line(line) }
            let stoppedBy: Int32? = if case let .interrupted(signal) = summary.reason { signal } else { nil }
            if ranks.communicator.isRoot { report(summary, folder: folder, terminal: terminal) }
            // Stopped, not finished: 128 + the signal, on every rank.
            if let stoppedBy { throw ExitCode(StopSignal.exitStatus(stoppedBy)) }
            guard ranks.communicator.isRoot else { return }
            if sampleLength > 0, summary.bestValidationLoss != nil {
                try printSample(from: folder, terminal: terminal)
            }
        }

        /// What training `shape` with a vocabulary of `vocabularySize` needs, the corpus included.
        private static func estimate(_ shape: TrainingConfiguration, vocabularySize: Int, corpusBytes: Int) -> MemoryEstimate {
            MemoryEstimate.training(shape.modelConfiguration(vocabularySize: vocabularySize), batch: shape.batch, seq: shape.seq,
                                    precision: shape.precision, corpusBytes: corpusBytes, weightDrop: shape.weightDrop > 0,
                                    average: shape.ema > 0)
        }

        /// The bytes of text files to be held as tokens, found (and checked to be regular files)
        /// without reading them; 0 for a prepared corpus, whose shards are mapped, not held.
        private func corpusByteCount() throws -> Int {
            if corpus.contains(where: { PreparedCorpus.isPrepared(SystemPath.url($0)) }) { return 0 }
            return try text.source(paths: corpus).files().reduce(0) { total, file in
                // A pipe, FIFO or device is refused here, before the folder is made (the encoder refuses it too).
                if FileSystem.kind(of: file.path) == .other { throw FileError.notRegularFile(path: file.path) }
                return total + (FileSystem.size(of: file.path) ?? 0)
            }
        }

        private func defaultFolder() -> String {
            let first = URL(fileURLWithPath: corpus.first ?? "model")
            var name = first.deletingPathExtension().lastPathComponent
            if name.isEmpty || name == "." { name = "model" }
            return "models/" + name
        }

        /// Flags given with --resume must agree with the saved run; only the limits and the evaluation cadence may change.
        private func checkResumeFlags(_ saved: TrainingConfiguration, _ folder: ModelFolder) throws {
            for binding in Self.settingFlags where binding.setting.fixedOnResume {
                guard let given = binding.typed(self) else { continue }
                var asked = saved
                binding.apply(self, &asked)
                if binding.setting.differs(asked, saved) {
                    throw CheckpointError.differentSetting(path: folder.state.path, name: binding.setting.name,
                                                           saved: binding.setting.value(in: saved), given: given)
                }
            }
        }

        private func report(_ summary: TrainingSummary, folder: ModelFolder, terminal: Terminal) {
            terminal.line(String(format: "stopped: %@ after %d steps (%.2f epochs, %@ characters in %@)",
                                 summary.reason.description, summary.steps, summary.epochs,
                                 Format.count(Double(summary.trainingCharacters)), Format.duration(summary.seconds)))
            if let best = summary.bestValidationLoss, let step = summary.bestStep {
                terminal.line(String(format: "validation: %.4f nats/char, %.4f bits/char, perplexity %.3f (best, at step %d)",
                                     best, best / log(2), exp(best), step))
            }
            if case .interrupted = summary.reason {
                terminal.line("saved: \(folder.state.path); continue with the same command and --resume")
            }
            terminal.line("model: \(folder.model.path)")
        }

        private func printSample(from folder: ModelFolder, terminal: Terminal) throws {
            let file = try ModelFile.read(from: folder.model)
            let text = try generateText(from: file, prompt: "", length: sampleLength, temperature: 0.8, seed: 1)
            terminal.line("sample (temperature 0.8):")
            terminal.lines(text)
        }
    }
}

/// Turns training events into a live progress line on a terminal, or plain periodic lines otherwise.
final class ProgressReporter {
    let terminal: Terminal
    private var lastDrawn = 0.0
    private var lastPrinted = -1.0e9
    private var lastStep: TrainingProgress?

    init(terminal: Terminal) { self.terminal = terminal }

    func handle(_ event: TrainingEvent) {
        switch event {
        case let .step(progress):
            lastStep = progress
            if terminal.isInteractive {
                if progress.elapsed - lastDrawn >= 0.25 {
                    terminal.live(line(progress))
                    lastDrawn = progress.elapsed
                }
            } else if progress.elapsed - lastPrinted >= 30 {
                terminal.line(line(progress))
                lastPrinted = progress.elapsed
            }
        case let .evaluated(step, loss, isBest):
            terminal.line(String(format: "step %d: validation %.4f nats/char (perplexity %.3f)%@", step, loss, exp(loss), isBest ? ", best so far" : ""))
        case let .skipped(step, reason):
            terminal.warn("step \(step) was skipped because \(reason); the weights were left unchanged.")
        case .checkpoint:
            break
        }
    }

    private func line(_ p: TrainingProgress) -> String {
        var parts = ["step \(p.step)" + (p.stepLimit.map { "/\($0)" } ?? "")]
        parts.append(String(format: "epoch %.2f", p.epoch))
        parts.append(p.smoothedLoss.isFinite ? String(format: "loss %.4f", p.smoothedLoss) : "loss -")
        parts.append(p.validationLoss.map { String(format: "val %.4f", $0) } ?? "val -")
        parts.append(String(format: "lr %.2e", p.learningRate))
        parts.append("\(Format.count(p.charactersPerSecond)) char/s")
        if let left = p.secondsLeft { parts.append("\(Format.duration(left)) left") }
        return parts.joined(separator: " | ")
    }
}

/// A user error of a command that no library error describes: one sentence.
struct CommandError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
