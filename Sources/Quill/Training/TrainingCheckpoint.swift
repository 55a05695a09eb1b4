import Foundation

/// Everything a training run needs to continue exactly where it stopped, saved as
/// `training-state.safetensors` beside the model file.
///
/// Tensors: `weights` [N] (the latest weights, F32), `adam.m` and `adam.v` [N] (F32),
/// `lstm.h` and `lstm.c` [layers, batch, H] (the state carried into the next window, F32),
/// `random` [4] (the generator's state, U64), and with `ema` on `weights.average` [N] (the moving
/// average of the weights, F32). Metadata: `format` (`quill.training-state`),
/// `format_version` (`1`) and `checkpoint`, a JSON object with the settings, vocabulary,
/// corpus fingerprint, data position, step counts, schedule and validation history.
struct TrainingCheckpoint {
    var configuration: TrainingConfiguration
    var vocabulary: Vocabulary
    var textOptions: TextOptions
    var corpusFingerprint: String
    var weights: ParameterBuffer
    /// The moving average of the weights, present exactly when the configuration's `ema` is positive.
    var average: ParameterBuffer? = nil
    var adamM: ParameterBuffer
    var adamV: ParameterBuffer
    var adamSteps: Int
    var recurrentState: RecurrentState
    var random: QuillRandom
    var position: BatchPosition
    var step: Int
    var schedule: LearningRateSchedule
    var scheduleFixed: Bool
    var bestValidationLoss: Double?
    var bestStep: Int?
    var evaluationsWithoutImprovement: Int
    var lastValidationLoss: Double?
    var lastEvaluatedStep: Int?
    /// Processes (MPI ranks) that trained the run: their number fixes the order gradients are summed in.
    var worldSize = 1

    static let formatName = "quill.training-state"
    static let formatVersion = "1"

    /// The JSON part of the file.
    private struct Header: Codable {
        var configuration: TrainingConfiguration
        var model: ModelConfiguration
        var vocabulary: [UInt32]
        var text: TextOptions
        var corpusFingerprint: String
        var adamSteps: Int
        var position: BatchPosition
        var step: Int
        var schedule: LearningRateSchedule
        var scheduleFixed: Bool
        var bestValidationLoss: Double?
        var bestStep: Int?
        var evaluationsWithoutImprovement: Int
        var lastValidationLoss: Double?
        var lastEvaluatedStep: Int?
        var worldSize: Int?
    }

    /// Writes the checkpoint atomically: a crash at any moment leaves the previous one whole.
    func write(to url: URL) throws {
        let header = Header(configuration: configuration, model: weights.layout.configuration,
                            vocabulary: vocabulary.scalars.map(\.value), text: textOptions,
                            corpusFingerprint: corpusFingerprint, adamSteps: adamSteps, position: position, step: step,
                            schedule: schedule, scheduleFixed: scheduleFixed, bestValidationLoss: bestValidationLoss,
                            bestStep: bestStep, evaluationsWithoutImprovement: evaluationsWithoutImprovement,
                            lastValidationLoss: lastValidationLoss, lastEvaluatedStep: lastEvaluatedStep, worldSize: worldSize)
        let json = try JSONOutput.line(header)
        let s = recurrentState
        let stateShape = [s.layers, s.batch, s.hiddenSize]
        var tensors = [
            SafeTensorsTensor(name: "weights", shape: [weights.count], floats: UnsafeBufferPointer(weights.elements)),
            SafeTensorsTensor(name: "adam.m", shape: [adamM.count], floats: UnsafeBufferPointer(adamM.elements)),
            SafeTensorsTensor(name: "adam.v", shape: [adamV.count], floats: UnsafeBufferPointer(adamV.elements)),
            SafeTensorsTensor(name: "lstm.h", shape: stateShape, floats: UnsafeBufferPointer(s.h)),
            SafeTensorsTensor(name: "lstm.c", shape: stateShape, floats: UnsafeBufferPointer(s.c)),
            .integers(name: "random", dtype: .u64, shape: [4], values: random.stateWords),
        ]
        if let average {
            tensors.append(SafeTensorsTensor(name: "weights.average", shape: [average.count], floats: UnsafeBufferPointer(average.elements)))
        }
        let data = SafeTensors.encode(tensors, metadata: ["format": Self.formatName, "format_version": Self.formatVersion, "checkpoint": json], checksum: true)
        do {
            try AtomicFile.write(data, to: url)
        } catch let error as FileError {
            // Already a sentence naming the file, the step and the system's reason (a full disk included).
            throw error
        } catch {
            throw CheckpointError.unwritable(path: url.path, reason: "\(error)")
        }
    }

    /// Reads and checks a checkpoint: every tensor present with the shape its settings imply, all values finite.
    static func read(from url: URL) throws -> TrainingCheckpoint {
        let path = url.path
        guard FileSystem.exists(path) else { throw CheckpointError.missing(path: path) }
        let file: SafeTensorsFile
        do {
            file = try SafeTensorsFile(contentsOf: url)
        } catch let SafeTensorsError.checksumMismatch(_, stored, computed) {
            throw CheckpointError.damaged(path: path, reason: "its bytes do not match the checksum written with them (data_crc32c \(stored), computed \(computed))")
        } catch {
            throw CheckpointError.unreadable(path: path, reason: "\(error)")
        }
        return try read(file, path: path)
    }

    /// Checks and decodes a training state already parsed as safetensors; `path` names it in messages.
    static func read(_ file: SafeTensorsFile, path: String) throws -> TrainingCheckpoint {
        guard file.metadata["format"] == formatName else {
            throw CheckpointError.unreadable(path: path, reason: "it is not a Quill training state")
        }
        guard file.metadata["format_version"] == formatVersion else {
            throw CheckpointError.unreadable(path: path, reason: "its format version \(file.metadata["format_version"] ?? "?") is not \(formatVersion)")
        }
        let header: Header
        do {
            header = try StrictJSONDecoder().decode(Header.self, from: Array((file.metadata["checkpoint"] ?? "").utf8))
        } catch let error as JSONParseError {
            throw CheckpointError.unreadable(path: path, reason: "its settings are not valid JSON (\(error.reason) at byte \(error.offset))")
        } catch let DecodingError.keyNotFound(key, context) {
            throw CheckpointError.unreadable(path: path, reason: "its settings lack \((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))")
        } catch let DecodingError.typeMismatch(_, context) {
            let name = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw CheckpointError.unreadable(path: path, reason: "its setting \(name) is wrong (\(context.debugDescription))")
        } catch {
            throw CheckpointError.unreadable(path: path, reason: "its settings do not parse")
        }
        do {
            try header.model.validate()
            try header.configuration.validate()
        } catch {
            throw CheckpointError.unreadable(path: path, reason: "\(error)")
        }
        let scalars = header.vocabulary.compactMap(Unicode.Scalar.init)
        let vocabulary = Vocabulary(scalars: scalars)
        guard scalars.count == header.vocabulary.count, vocabulary.count == header.model.vocabularySize,
              vocabulary.scalars == scalars else {
            throw CheckpointError.unreadable(path: path, reason: "its vocabulary disagrees with its model size")
        }
        guard header.configuration.batch >= 1, header.configuration.modelConfiguration(vocabularySize: vocabulary.count) == header.model else {
            throw CheckpointError.unreadable(path: path, reason: "its model settings disagree with its training settings")
        }
        let layout = ParameterLayout(header.model)
        func floats(_ name: String, _ shape: [Int], into destination: UnsafeMutablePointer<Float>) throws {
            guard let entry = file.entry(named: name), entry.dtype == .f32, entry.shape == shape else {
                throw CheckpointError.unreadable(path: path, reason: "its tensor \(name) is missing or not F32 of shape \(shape)")
            }
            file.copyFloats(of: entry, to: destination)
            for i in 0..<entry.elementCount where !destination[i].isFinite {
                throw CheckpointError.unreadable(path: path, reason: "its tensor \(name) holds a non-finite value at index \(i)")
            }
        }
        // Every F32 tensor must have its shape before anything is allocated: the tensors tile the
        // file, so a header that claims a huge model cannot allocate more than the file holds.
        let stateShape = [header.model.layers, header.configuration.batch, header.model.hiddenSize]
        let averaged = header.configuration.ema > 0
        var expected = [("weights", [layout.count]), ("adam.m", [layout.count]), ("adam.v", [layout.count]),
                        ("lstm.h", stateShape), ("lstm.c", stateShape)]
        if averaged { expected.append(("weights.average", [layout.count])) }
        for (name, shape) in expected {
            guard let entry = file.entry(named: name), entry.dtype == .f32, entry.shape == shape else {
                throw CheckpointError.unreadable(path: path, reason: "its tensor \(name) is missing or not F32 of shape \(shape)")
            }
        }
        let weights = ParameterBuffer(layout: layout)
        let m = ParameterBuffer(layout: layout)
        let v = ParameterBuffer(layout: layout)
        try floats("weights", [layout.count], into: weights.pointer)
        try floats("adam.m", [layout.count], into: m.pointer)
        try floats("adam.v", [layout.count], into: v.pointer)
        let average = averaged ? ParameterBuffer(layout: layout) : nil
        if let average { try floats("weights.average", [layout.count], into: average.pointer) }
        let state = RecurrentState(configuration: header.model, batch: header.configuration.batch)
        try floats("lstm.h", [state.layers, state.batch, state.hiddenSize], into: state.h.baseAddress!)
        try floats("lstm.c", [state.layers, state.batch, state.hiddenSize], into: state.c.baseAddress!)
        // Values outside their domain cannot come from training: the file was changed.
        for i in 0..<v.count where v.pointer[i] < 0 {
            throw CheckpointError.damaged(path: path, reason: "Adam's second moment adam.v holds \(v.pointer[i]) at index \(i), but second moments are averages of squares and never negative")
        }
        for i in 0..<state.h.count where abs(state.h[i]) > 1 {
            throw CheckpointError.damaged(path: path, reason: "the LSTM output lstm.h holds \(state.h[i]) at index \(i), outside [-1, 1] where o * tanh(c) always lies")
        }
        guard let entry = file.entry(named: "random"), entry.dtype == .u64, entry.shape == [4] else {
            throw CheckpointError.unreadable(path: path, reason: "its tensor random is missing or not U64 of shape [4]")
        }
        let words = file.data(of: entry).withUnsafeBytes { raw in
            (0..<4).map { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)) }
        }
        guard let random = QuillRandom(state: words) else {
            throw CheckpointError.unreadable(path: path, reason: "its random generator state is all zeros")
        }
        let tensorCount = expected.count + 1  // and random
        guard file.tensors.count == tensorCount else {
            throw CheckpointError.unreadable(path: path, reason: "it holds \(file.tensors.count) tensors instead of \(tensorCount)")
        }
        return TrainingCheckpoint(
            configuration: header.configuration, vocabulary: vocabulary, textOptions: header.text,
            corpusFingerprint: header.corpusFingerprint, weights: weights, average: average, adamM: m, adamV: v, adamSteps: header.adamSteps,
            recurrentState: state, random: random, position: header.position, step: header.step,
            schedule: header.schedule, scheduleFixed: header.scheduleFixed, bestValidationLoss: header.bestValidationLoss,
            bestStep: header.bestStep, evaluationsWithoutImprovement: header.evaluationsWithoutImprovement,
            lastValidationLoss: header.lastValidationLoss, lastEvaluatedStep: header.lastEvaluatedStep,
            worldSize: max(header.worldSize ?? 1, 1))
    }

    /// Refuses to resume with a number of processes that splits the lanes differently (1 and 2 split
    /// them alike, in two shards), since the gradients would then be summed in another order.
    func checkWorldSize(_ size: Int, path: String) throws {
        func shards(_ n: Int) -> Int { n > 1 ? n : min(configuration.batch, 2) }
        guard shards(size) == shards(worldSize) else {
            throw CheckpointError.differentWorldSize(path: path, saved: worldSize, given: size)
        }
    }
}

/// A training state that cannot be written, read or resumed.
///
/// Messages name settings as `TrainingSettings` does; a command line prints `description(naming:)`.
public enum CheckpointError: Error, Equatable, CustomStringConvertible {
    case missing(path: String)
    case unreadable(path: String, reason: String)
    case unwritable(path: String, reason: String)
    /// The state fails its checksum or holds values training never produces.
    case damaged(path: String, reason: String)
    case differentCorpus(path: String)
    case differentText(path: String, saved: String, given: String)
    /// A setting that a resumed run keeps (see `TrainingSetting.fixedOnResume`) was given another value.
    case differentSetting(path: String, name: String, saved: String, given: String)
    /// The run was trained by another number of processes, which sums gradients in another order.
    case differentWorldSize(path: String, saved: Int, given: Int)

    public var description: String { description(naming: { $0 }) }

    /// The message with each setting called what `name` returns for its name (a flag, say).
    public func description(naming name: (String) -> String) -> String {
        switch self {
        case let .missing(path):
            return "There is no training state to resume at \(path); start a new run there first, or resume the folder of an earlier run."
        case let .unreadable(path, reason):
            return "The training state \(path) cannot be used: \(reason); start a new run instead of resuming."
        case let .damaged(path, reason):
            return "The training state \(path) is damaged: \(reason); it changed after it was saved, so nothing was resumed or written; resume from a backup copy of the folder, or start a new run."
        case let .unwritable(path, reason):
            return "Cannot write \(path): \(reason)."
        case let .differentCorpus(path):
            return "The training state \(path) was made from a different corpus; resume with the same corpus and document options, or start a new run."
        case let .differentText(path, saved, given):
            return "The training state \(path) was made with \(saved) text but \(given) was asked; resume with the same normalization and case folding."
        case let .differentSetting(path, setting, saved, given):
            return "The training state \(path) has \(name(setting)) \(saved) but \(given) was asked; keep the saved \(name(setting)) to resume, or start a new run."
        case let .differentWorldSize(path, saved, given):
            let ways = saved <= 2 ? "alone or with mpirun -np 2" : "with mpirun -np \(saved)"
            return "The training state \(path) was trained by \(saved) process\(saved == 1 ? "" : "es") but \(given) \(given == 1 ? "was" : "were") started, which would sum its gradients in another order; resume it \(ways), or start a new run."
        }
    }
}
