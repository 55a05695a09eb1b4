import Foundation

/// Trains a language model with truncated backpropagation through time, writing crash-safe
/// checkpoints into a model folder and resuming exactly from them.
///
/// One step: the next `[batch, seq]` window of every lane, forward and backward with the state
/// carried in (reset before each `[DOC]`), global-norm clipping, one Adam update at the schedule's
/// rate, then with `ema` the update of the weights' moving average (`WeightAverage`), which is what
/// evaluations score and the model file holds. A step whose loss or gradient is not finite is
/// skipped; too many in a row end training.
public final class Trainer {
    public let configuration: TrainingConfiguration
    public let model: LanguageModel
    /// The model evaluated and saved: the average of the weights when `ema` is on (sharing
    /// `WeightAverage.values`), else `model` itself.
    public let evaluatedModel: LanguageModel
    public let vocabulary: Vocabulary
    public let textOptions: TextOptions
    public let folder: ModelFolder
    /// Extra metadata written into the model file (corpus name and the like).
    public let info: [String: String]

    private let validationTokens: [Int32]
    private let corpusFingerprint: String
    private let step: TrainingStep
    /// The processes training together; rank 0 alone writes files and evaluates.
    private let communicator: Communicator
    private let optimizer: AdamOptimizer
    private let gradients: ParameterBuffer
    /// The moving average of the weights, when `ema` is on.
    private let average: WeightAverage?
    private var batcher: Batcher<AnyTokenSource>
    private let state: RecurrentState
    private var random: QuillRandom
    private var schedule: LearningRateSchedule
    private var scheduleFixed: Bool
    /// True while the decay's horizon comes from this run's measured speed against its time limit
    /// and may still move: a warm-up, stable, decay schedule still in its stable part.
    private var horizonFromTime = false
    private var stepCount = 0
    private var bestValidationLoss: Double?
    private var bestStep: Int?
    private var evaluationsWithoutImprovement = 0
    private var lastValidationLoss: Double?
    private var lastEvaluatedStep: Int?
    private var smoothedLoss = 0.0
    private var smoothedWeight = 0.0
    private var inputs: [Int32]
    private var targets: [Int32]

    /// A test seam, nil in normal use: called with each step's number (from 1) and its gradients before clipping.
    var gradientHookForTesting: ((Int, ParameterBuffer) -> Void)?
    /// Test seam: seconds since the run started, in place of the wall clock.
    var elapsedSecondsForTesting: (() -> Double)?

    /// How a resumed run's learning-rate decay was planned again, or nil when it goes on as saved.
    public private(set) var scheduleChange: ScheduleChange?

    /// Consecutive non-finite steps after which training stops.
    public static let maximumSkippedSteps = 25
    /// Most lanes used to score the validation split (`Evaluator`: the figure is the sequential one, lanes only add speed).
    public static let evaluationBatch = 32

    /// A fresh run: weights initialized from the seed, the engine on `threads` worker threads.
    ///
    /// With `base`, the weights come from that model instead (see `FineTuning.startingModel`); the
    /// configuration must then have its sizes and `vocabulary` hold its characters.
    /// - Throws: `TrainingError` when the corpus is too short for one window or the split is empty.
    public convenience init(configuration: TrainingConfiguration, training: [Int32], validation: [Int32],
                            vocabulary: Vocabulary, textOptions: TextOptions, folder: ModelFolder,
                            info: [String: String] = [:], threads: Int = defaultEngineThreadCount,
                            startingFrom base: ModelFile? = nil, communicator: Communicator = SingleProcess()) throws {
        try self.init(configuration: configuration, data: TrainingData(training: training, validation: validation, vocabulary: vocabulary),
                      vocabulary: vocabulary, textOptions: textOptions, folder: folder, info: info, threads: threads,
                      startingFrom: base, communicator: communicator)
    }

    /// A fresh run on a token source (in memory or prepared shards); see the initializer above.
    ///
    /// - Throws: `TrainingError` when the corpus is too short for one window or the split is empty.
    public convenience init(configuration: TrainingConfiguration, data: TrainingData,
                            vocabulary: Vocabulary, textOptions: TextOptions, folder: ModelFolder,
                            info: [String: String] = [:], threads: Int = defaultEngineThreadCount,
                            startingFrom base: ModelFile? = nil, communicator: Communicator = SingleProcess()) throws {
        let validation = data.validation
        try configuration.validate()
        guard validation.count >= 2 else { throw TrainingError.emptyValidationSplit(tokens: validation.count, validationFraction: configuration.validationFraction) }
        let modelConfiguration = configuration.modelConfiguration(vocabularySize: vocabulary.count)
        try modelConfiguration.validate()
        var random = QuillRandom(seed: configuration.seed)
        let model = base.map { FineTuning.startingModel(from: $0, vocabulary: vocabulary, configuration: modelConfiguration, random: &random) }
            ?? LanguageModel.initialized(modelConfiguration, random: &random)
        let batcher = try Batcher(source: AnyTokenSource(data.training), batch: configuration.batch, seq: configuration.seq)
        let windows = batcher.windowsPerEpoch
        let schedule = configuration.learningRateSchedule(windowsPerEpoch: windows)
        let scheduleFixed = configuration.decaySteps > 0 || configuration.totalSteps(windowsPerEpoch: windows) != nil
            || configuration.decay == .none
        var configuration = configuration
        if scheduleFixed && configuration.decay != .none {
            // Record the horizon in use, so a run stopped early and resumed saves the same settings.
            configuration.decaySteps = schedule.totalSteps
        }
        self.init(configuration: configuration, model: model, vocabulary: vocabulary, textOptions: textOptions,
                  folder: folder, info: info, validation: validation, fingerprint: data.fingerprint,
                  batcher: batcher, state: RecurrentState(configuration: modelConfiguration, batch: configuration.batch),
                  random: random, schedule: schedule, scheduleFixed: scheduleFixed, threads: threads, communicator: communicator)
    }

    /// Resumes a run from the training state in `folder`.
    ///
    /// The model shape, optimizer and schedule come from the saved state; only the settings that are
    /// not `fixedOnResume` (the limits and `evalEvery`) come from `limits`.
    ///
    /// - Throws: `CheckpointError` when the state is missing, unreadable, or was made from another corpus.
    /// A step or epoch limit past the end of a decay planned from the saved limit plans the decay again
    /// (`scheduleChange` says so; see `ScheduleContinuation`), unless `keepSchedule`.
    public convenience init(resuming folder: ModelFolder, limits: TrainingConfiguration, training: [Int32], validation: [Int32],
                            vocabulary: Vocabulary, textOptions: TextOptions, info: [String: String] = [:],
                            keepSchedule: Bool = false, communicator: Communicator = SingleProcess()) throws {
        try self.init(resuming: folder, limits: limits, data: TrainingData(training: training, validation: validation, vocabulary: vocabulary),
                      vocabulary: vocabulary, textOptions: textOptions, info: info, keepSchedule: keepSchedule,
                      communicator: communicator)
    }

    /// Resumes a run on a token source (in memory or prepared shards); see the initializer above.
    ///
    /// - Throws: `CheckpointError` when the state is missing, unreadable, or was made from another corpus.
    public convenience init(resuming folder: ModelFolder, limits: TrainingConfiguration, data: TrainingData,
                            vocabulary: Vocabulary, textOptions: TextOptions, info: [String: String] = [:],
                            keepSchedule: Bool = false, communicator: Communicator = SingleProcess()) throws {
        let checkpoint = try TrainingCheckpoint.read(from: folder.state)
        try checkpoint.checkWorldSize(communicator.size, path: folder.state.path)
        let fingerprint = data.fingerprint
        guard checkpoint.corpusFingerprint == fingerprint, checkpoint.vocabulary == vocabulary else {
            throw CheckpointError.differentCorpus(path: folder.state.path)
        }
        guard checkpoint.textOptions == textOptions else {
            throw CheckpointError.differentText(path: folder.state.path, saved: checkpoint.textOptions.summary, given: textOptions.summary)
        }
        let saved = checkpoint.configuration
        let batcher = try Batcher(source: AnyTokenSource(data.training), batch: saved.batch, seq: saved.seq, position: checkpoint.position)
        let plan = ScheduleContinuation.resuming(saved: saved, schedule: checkpoint.schedule, scheduleFixed: checkpoint.scheduleFixed,
                                                 step: checkpoint.step, limits: limits, windowsPerEpoch: batcher.windowsPerEpoch,
                                                 keepPlan: keepSchedule)
        let configuration = plan.configuration
        try configuration.validate()
        self.init(configuration: configuration, model: LanguageModel(weights: checkpoint.weights), vocabulary: vocabulary,
                  textOptions: textOptions, folder: folder, info: info, validation: data.validation,
                  fingerprint: fingerprint, batcher: batcher, state: checkpoint.recurrentState, random: checkpoint.random,
                  schedule: plan.schedule, scheduleFixed: plan.scheduleFixed, communicator: communicator)
        scheduleChange = plan.change
        optimizer.m.pointer.update(from: checkpoint.adamM.pointer, count: model.layout.count)
        optimizer.v.pointer.update(from: checkpoint.adamV.pointer, count: model.layout.count)
        optimizer.stepCount = checkpoint.adamSteps
        if let average, let saved = checkpoint.average {
            average.values.pointer.update(from: saved.pointer, count: model.layout.count)
        }
        stepCount = checkpoint.step
        bestValidationLoss = checkpoint.bestValidationLoss
        bestStep = checkpoint.bestStep
        evaluationsWithoutImprovement = checkpoint.evaluationsWithoutImprovement
        lastValidationLoss = checkpoint.lastValidationLoss
        lastEvaluatedStep = checkpoint.lastEvaluatedStep
    }

    /// The parts both starts share: engine workspace, optimizer and buffers for `model`.
    private init(configuration: TrainingConfiguration, model: LanguageModel, vocabulary: Vocabulary, textOptions: TextOptions,
                 folder: ModelFolder, info: [String: String], validation: [Int32], fingerprint: String,
                 batcher: Batcher<AnyTokenSource>, state: RecurrentState, random: QuillRandom, schedule: LearningRateSchedule, scheduleFixed: Bool,
                 threads: Int = defaultEngineThreadCount, communicator: Communicator) {
        self.configuration = configuration
        self.communicator = communicator
        self.model = model
        self.vocabulary = vocabulary
        self.textOptions = textOptions
        self.folder = folder
        self.info = info
        validationTokens = validation
        corpusFingerprint = fingerprint
        self.batcher = batcher
        if communicator.size > 1 {
            // Each rank reads only the lanes it trains.
            let own = LaneShard.split(batch: configuration.batch, count: communicator.size)[communicator.rank]
            self.batcher.readLanes = own.first..<(own.first + own.lanes)
        }
        self.state = state
        self.random = random
        self.schedule = schedule
        self.scheduleFixed = scheduleFixed
        step = TrainingStep(model: model, batch: configuration.batch, seq: configuration.seq, precision: configuration.precision,
                            threads: threads, communicator: communicator, regularization: configuration.regularizers)
        optimizer = AdamOptimizer(layout: model.layout, configuration: configuration)
        gradients = ParameterBuffer(layout: model.layout)
        average = configuration.ema > 0 ? WeightAverage(decay: configuration.ema, startingFrom: model.weights) : nil
        evaluatedModel = average.map { LanguageModel(weights: $0.values) } ?? model
        inputs = [Int32](repeating: 0, count: configuration.batch * configuration.seq)
        targets = inputs
    }

    /// The settings of the run saved in `folder`, to split the corpus the same way before resuming.
    ///
    /// - Throws: `CheckpointError` when there is no readable training state.
    public static func savedConfiguration(in folder: ModelFolder) throws -> TrainingConfiguration {
        try TrainingCheckpoint.read(from: folder.state).configuration
    }

    /// The corpus fingerprint the training state records (ranks compare it before training together).
    public var dataFingerprint: String { corpusFingerprint }
    /// Steps taken so far (the saved step when resuming).
    public var completedSteps: Int { stepCount }

    /// The step at which a step or epoch limit stops the run, if either is set.
    private var stepLimit: Int? { configuration.totalSteps(windowsPerEpoch: batcher.windowsPerEpoch) }

    /// Trains until a limit, early stopping or a stop request.
    ///
    /// - Parameters:
    ///   - stopRequested: polled between steps; a non-nil signal number finishes the step, saves and returns.
    ///   - events: progress, evaluations, skipped steps and checkpoints as they happen.
    /// - Throws: `TrainingError.diverged` after too many non-finite steps (the last good checkpoint stays),
    ///   an I/O error when a checkpoint cannot be written (the previous one stays whole), or what the
    ///   token source throws when its tokens cannot be read (a prepared shard damaged or removed).
    public func run(stopRequested: () -> Int32? = { nil }, events: (TrainingEvent) -> Void = { _ in }) throws -> TrainingSummary {
        let root = communicator.isRoot
        if root { try FileSystem.createDirectory(folder.url.path) }
        let metrics = root ? try MetricsLog(url: folder.metrics) : nil
        let stopwatch = Stopwatch(), clock = elapsedSecondsForTesting
        func elapsed() -> Double { clock?() ?? stopwatch.seconds }
        let firstStep = stepCount
        if communicator.broadcast(firstStep == 0 && root && !FileSystem.exists(folder.state.path) ? 1 : 0) == 1 {
            // A checkpoint before any work, so a crash at any moment leaves a model that loads.
            do {
                try writeCheckpoint(writeModel: true)
            } catch {
                // A first save that failed half-way leaves no untrained model and no empty log behind.
                FileSystem.remove(folder.model.path)
                if FileSystem.size(of: folder.metrics.path) == 0 { FileSystem.remove(folder.metrics.path) }
                throw error
            }
            events(.checkpoint(step: 0))
        }
        var skippedInARow = 0
        var rateWindowStart = (time: 0.0, step: stepCount)
        var charactersPerSecond = 0.0
        let tokensPerStep = configuration.batch * configuration.seq
        var reason: TrainingStopReason

        while true {
            if let limit = stepLimit, stepCount >= limit {
                reason = configuration.epochs > 0 && configuration.epochs * batcher.windowsPerEpoch == limit
                    && (configuration.steps == 0 || configuration.steps > limit) ? .epochLimit : .stepLimit
                break
            }
            // Rank 0 decides, so every rank stops at the same step.
            var stop = 0
            if root, configuration.timeLimit > 0, elapsed() >= configuration.timeLimit {
                stop = -1
            } else if root, let signal = stopRequested() {
                stop = Int(signal)
            }
            if communicator.size > 1 { stop = communicator.broadcast(stop) }
            if stop == -1 {
                reason = .timeLimit
                break
            }
            if stop > 0 {
                reason = .interrupted(signal: Int32(stop))
                break
            }

            let window = try inputs.withUnsafeMutableBufferPointer { i in
                try targets.withUnsafeMutableBufferPointer { t in try batcher.next(inputs: i, targets: t) }
            }
            let rate = schedule.learningRate(atStep: stepCount)
            let loss = inputs.withUnsafeBufferPointer { i in
                targets.withUnsafeBufferPointer { t in
                    step.run(inputs: i, targets: t, state: state, gradients: gradients, random: &random)
                }
            }
            gradientHookForTesting?(stepCount + 1, gradients)
            let clip = GradientClipping.clip(gradients, maxNorm: configuration.clip)
            if loss.isFinite && clip.isFinite {
                optimizer.step(weights: model.weights, gradients: gradients, learningRate: rate)
                average?.update(toward: model.weights, afterUpdates: optimizer.stepCount - 1)
                skippedInARow = 0
                smoothedLoss = 0.98 * smoothedLoss + 0.02 * Double(loss)
                smoothedWeight = 0.98 * smoothedWeight + 0.02
            } else {
                skippedInARow += 1
                state.zero()
                events(.skipped(step: stepCount + 1, reason: loss.isFinite ? "the gradient norm is not finite" : "the loss is not finite"))
                if skippedInARow >= Trainer.maximumSkippedSteps {
                    throw TrainingError.diverged(step: stepCount + 1, consecutiveSkippedSteps: skippedInARow)
                }
            }
            if window.endsEpoch { state.zero() }
            stepCount += 1

            if !scheduleFixed, configuration.timeLimit > 0, stepCount - firstStep >= max(20, configuration.warmupSteps / 2) {
                // Only a time limit bounds the run: fix the decay's horizon from the measured speed.
                let left = stepsLeft(elapsed: elapsed(), steps: stepCount - firstStep)
                schedule = LearningRateSchedule(peak: configuration.learningRate, warmupSteps: configuration.warmupSteps,
                                                totalSteps: max(stepCount + left, configuration.warmupSteps + 1, schedule.totalSteps),
                                                decay: configuration.decay, minimumFraction: configuration.minimumLearningRateFraction)
                scheduleFixed = true
                horizonFromTime = configuration.decay == .wsd
            }

            let now = elapsed()
            if now - rateWindowStart.time >= 1 || stepCount - rateWindowStart.step >= 50 {
                charactersPerSecond = Double((stepCount - rateWindowStart.step) * tokensPerStep) / max(now - rateWindowStart.time, 1e-9)
                rateWindowStart = (now, stepCount)
            } else if charactersPerSecond == 0 {
                charactersPerSecond = Double((stepCount - firstStep) * tokensPerStep) / max(now, 1e-9)
            }
            let progress = makeProgress(rate: rate, charactersPerSecond: charactersPerSecond, elapsed: now)
            events(.step(progress))
            if stepCount % 10 == 0 {
                try metrics?.append(step: stepCount, epoch: progress.epoch, trainLoss: Double(loss), validationLoss: nil,
                                   learningRate: rate, charactersPerSecond: charactersPerSecond)
            }

            if stepCount % configuration.evalEvery == 0 {
                let improved = evaluate(events: events)
                try metrics?.append(step: stepCount, epoch: progress.epoch, trainLoss: Double(loss), validationLoss: lastValidationLoss,
                                   learningRate: rate, charactersPerSecond: charactersPerSecond)
                if horizonFromTime { replanHorizon(elapsed: elapsed(), steps: stepCount - firstStep) }
                try writeCheckpoint(writeModel: improved)
                if communicator.isRoot { try recordEvaluation(step: stepCount) }
                events(.checkpoint(step: stepCount))
                if configuration.earlyStopPatience > 0, evaluationsWithoutImprovement >= configuration.earlyStopPatience {
                    reason = .earlyStop
                    break
                }
            }
        }

        if case .interrupted = reason {
            // Save where we are without evaluating, so a resumed run is the same as one never stopped.
            if lastEvaluatedStep != stepCount {
                try writeCheckpoint(writeModel: bestValidationLoss == nil)
                events(.checkpoint(step: stepCount))
            }
        } else if lastEvaluatedStep != stepCount {
            let improved = evaluate(events: events)
            try metrics?.append(step: stepCount, epoch: epochProgress, trainLoss: nil, validationLoss: lastValidationLoss,
                               learningRate: schedule.learningRate(atStep: max(stepCount - 1, 0)), charactersPerSecond: charactersPerSecond)
            try writeCheckpoint(writeModel: improved)
            if communicator.isRoot { try recordEvaluation(step: stepCount) }
            events(.checkpoint(step: stepCount))
        }
        return TrainingSummary(reason: reason, steps: stepCount, epochs: epochProgress,
                               trainingCharacters: (stepCount - firstStep) * tokensPerStep, seconds: elapsed(),
                               bestValidationLoss: bestValidationLoss, bestStep: bestStep,
                               finalValidationLoss: lastEvaluatedStep == stepCount ? lastValidationLoss : nil)
    }

    /// Moves the end of a time-limited warm-up, stable, decay schedule to where the run will now
    /// stop, judged from the time per step so far, evaluations and checkpoints included (the first
    /// plan, made before any evaluation, sees training steps alone and would leave the decay
    /// unfinished when the time runs out). Only while the schedule is stable, so no step's rate
    /// already taken changes, and never so far back that the decay would start in the past.
    private func replanHorizon(elapsed: Double, steps: Int) {
        guard stepCount < schedule.wsdDecayStart, steps > 0 else {
            horizonFromTime = false
            return
        }
        schedule.totalSteps = max(stepCount + max(0, stepsLeft(elapsed: elapsed, steps: steps)),
                                  schedule.wsdShortestTotal(stableAt: stepCount))
    }

    /// The steps the time limit still allows at the pace of the `steps` steps that took `elapsed`
    /// seconds (rank 0's clock, so every rank plans alike).
    private func stepsLeft(elapsed: Double, steps: Int) -> Int {
        communicator.broadcast(Int((configuration.timeLimit - elapsed) / (elapsed / Double(steps))))
    }

    private var epochProgress: Double {
        Double(batcher.position.epoch) + Double(batcher.position.offset) / Double(max(batcher.windowsPerEpoch * configuration.seq, 1))
    }

    private func makeProgress(rate: Float, charactersPerSecond: Double, elapsed: Double) -> TrainingProgress {
        var left: Double?
        let stepsPerSecond = charactersPerSecond / Double(configuration.batch * configuration.seq)
        if let limit = stepLimit, stepsPerSecond > 0 { left = Double(limit - stepCount) / stepsPerSecond }
        if configuration.timeLimit > 0 { left = min(left ?? .infinity, configuration.timeLimit - elapsed) }
        return TrainingProgress(step: stepCount, stepLimit: stepLimit, epoch: epochProgress,
                                smoothedLoss: smoothedWeight > 0 ? smoothedLoss / smoothedWeight : .nan,
                                validationLoss: lastValidationLoss, learningRate: rate,
                                charactersPerSecond: charactersPerSecond, elapsed: elapsed, secondsLeft: left)
    }

    /// Scores the validation split; returns whether it is the best so far.
    @discardableResult
    private func evaluate(events: (TrainingEvent) -> Void) -> Bool {
        // Rank 0 scores, and every rank takes its figure, so all make the same decisions.
        var loss = 0.0
        if communicator.isRoot {
            let evaluator = Evaluator(model: evaluatedModel, batch: Trainer.evaluationBatch, seq: 128, precision: configuration.precision)
            loss = evaluator.evaluate(validationTokens).natsPerCharacter
        }
        if communicator.size > 1 { loss = communicator.broadcast(loss) }
        lastValidationLoss = loss
        lastEvaluatedStep = stepCount
        let improved = loss.isFinite && (bestValidationLoss.map { loss < $0 } ?? true)
        if improved {
            bestValidationLoss = loss
            bestStep = stepCount
            evaluationsWithoutImprovement = 0
        } else {
            evaluationsWithoutImprovement += 1
        }
        events(.evaluated(step: stepCount, loss: loss, isBest: improved))
        return improved
    }

    /// Writes the training state, and the model file when asked; each atomically.
    private func writeCheckpoint(writeModel: Bool) throws {
        if communicator.size > 1 { gatherRecurrentState() }
        guard communicator.isRoot else { return }
        if writeModel {
            var modelInfo = info
            if let best = bestValidationLoss { modelInfo["validation_nats_per_char"] = String(format: "%.6f", best) }
            let file = ModelFile(configuration: model.configuration, vocabulary: vocabulary, textOptions: textOptions,
                                 weights: evaluatedModel.weights, step: stepCount, info: modelInfo)
            try file.write(to: folder.model)
        }
        let checkpoint = TrainingCheckpoint(
            configuration: configuration, vocabulary: vocabulary, textOptions: textOptions,
            corpusFingerprint: corpusFingerprint, weights: model.weights, average: average?.values, adamM: optimizer.m, adamV: optimizer.v,
            adamSteps: optimizer.stepCount, recurrentState: state, random: random, position: batcher.position,
            step: stepCount, schedule: schedule, scheduleFixed: scheduleFixed,
            bestValidationLoss: bestValidationLoss, bestStep: bestStep,
            evaluationsWithoutImprovement: evaluationsWithoutImprovement,
            lastValidationLoss: lastValidationLoss, lastEvaluatedStep: lastEvaluatedStep, worldSize: communicator.size)
        try checkpoint.write(to: folder.state)
    }

    /// Copies every rank's lanes of the recurrent state into this rank's, so rank 0 saves all of them.
    private func gatherRecurrentState() {
        let shards = LaneShard.split(batch: state.batch, count: communicator.size)
        let own = shards[communicator.rank]
        var floats: [Float] = []
        for lane in own.first..<(own.first + own.lanes) {
            let value = state.lane(lane)
            floats += value.hidden + value.cell
        }
        let gathered = communicator.allGather(floats.withUnsafeBytes { Array($0) })
        let perLane = 2 * state.layers * state.hiddenSize
        for (shard, bytes) in zip(shards, gathered) where shard != own {
            precondition(bytes.count == shard.lanes * perLane * 4, "a rank sent a state of another shape")
            let values: [Float] = bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            for i in 0..<shard.lanes {
                let lane = values[(i * perLane)..<((i + 1) * perLane)]
                let half = perLane / 2
                state.setLane(shard.first + i, to: RecurrentState.Lane(hidden: Array(lane.prefix(half)), cell: Array(lane.suffix(half))))
            }
        }
    }
}
