import Foundation

/// What a run will allocate, estimated from its sizes before anything is allocated, so a run that
/// cannot fit is refused with a sentence instead of dying in an allocation.
///
/// The figures follow the buffers the engine allocates (the parameter buffers, the training and
/// inference workspaces, the sampler) and are computed in `Double`, so absurd sizes never
/// overflow. `QuillTests/Training/MemoryEstimateTests` checks them against the bytes that building
/// those objects actually allocates.
public struct MemoryEstimate: Equatable, Sendable {
    /// One named part of the estimate, in bytes.
    public struct Part: Equatable, Sendable {
        public var name: String
        public var bytes: Double
    }

    /// What the work is, as named in messages (`training this model`).
    public var work: String
    /// The parts, largest first once built.
    public private(set) var parts: [Part] = []

    /// The total in bytes.
    public var bytes: Double { parts.reduce(0) { $0 + $1.bytes } }

    init(work: String) { self.work = work }

    mutating func add(_ name: String, _ bytes: Double) {
        guard bytes > 0 else { return }
        parts.append(Part(name: name, bytes: bytes))
    }

    /// The part called `name`, in bytes (0 if there is none).
    public func bytes(of name: String) -> Double { parts.first { $0.name == name }?.bytes ?? 0 }

    // MARK: The work of each command

    /// Training `model` with `batch` lanes of `seq` characters, plus the validation passes and
    /// checkpoint writes it makes, and `corpusBytes` bytes of text held as tokens.
    ///
    /// `weightDrop`: whether DropConnect masks `W_hh`, which keeps a mask and a masked copy of each
    /// layer's `[4H, H]` recurrent weights; `average`: whether a moving average of the weights is kept (`ema`).
    public static func training(_ model: ModelConfiguration, batch: Int, seq: Int, precision: ComputePrecision,
                                corpusBytes: Int = 0, weightDrop: Bool = false, average: Bool = false) -> MemoryEstimate {
        var e = MemoryEstimate(work: "training this model")
        let p = parameterCount(model)
        let shards = Double(min(batch, max(2, defaultEngineThreadCount)))
        // Weights, gradients, Adam's two moments, and one more gradient buffer per extra shard.
        e.add("weights, gradients and optimizer", 4 * (4 + shards - 1) * p)
        e.add("training windows", trainingWorkspace(model, batch: batch, seq: seq, shards: shards, precision: precision))
        if average { e.add("weight average", 4 * p) }
        if weightDrop {
            let h = Double(model.hiddenSize)
            e.add("recurrent weight masks", 4 * 2 * Double(model.layers) * 4 * h * h)
        }
        let evaluation = inferenceWorkspace(model, batch: Trainer.evaluationBatch, seq: 128, precision: precision)
            + inferenceWorkspace(model, batch: 1, seq: 128, precision: precision)
        e.add("validation passes", evaluation)
        // A checkpoint is encoded whole before it is written: the training state holds 3 copies of the
        // parameters, 4 with the average.
        e.add("checkpoint writes", 4 * (average ? 4 : 3) * p)
        e.add("corpus", corpusTokenBytes(corpusBytes))
        return e
    }

    /// Scoring text of `corpusBytes` bytes with a model read from a file, `batch` lanes of `seq` tokens.
    public static func evaluation(_ model: ModelConfiguration, batch: Int, seq: Int = 128, precision: ComputePrecision,
                                  corpusBytes: Int = 0) -> MemoryEstimate {
        var e = MemoryEstimate(work: "scoring with this model")
        e.add("model", modelBytes(model))
        e.add("scoring windows", inferenceWorkspace(model, batch: batch, seq: seq, precision: precision)
            + inferenceWorkspace(model, batch: 1, seq: seq, precision: precision))
        e.add("text", corpusTokenBytes(corpusBytes))
        return e
    }

    /// Generating `samples` samples together with a model read from a file.
    public static func sampling(_ model: ModelConfiguration, samples: Int, precision: ComputePrecision) -> MemoryEstimate {
        var e = MemoryEstimate(work: "sampling from this model")
        e.add("model", modelBytes(model))
        let v = Double(model.vocabularySize)
        // The engine's one-step workspace, the generator's logits, and one sampler's scratch rows.
        e.add("sampling batch", inferenceWorkspace(model, batch: samples, seq: 1, precision: precision)
            + 4 * Double(samples) * v + 4 * 3.125 * v)
        return e
    }

    // MARK: Building blocks

    /// Floats in the parameter buffer of `model`.
    static func parameterCount(_ c: ModelConfiguration) -> Double {
        let v = Double(c.vocabularySize), e = Double(c.embeddingSize), h = Double(c.hiddenSize), l = Double(c.layers)
        let firstLayer = 4 * h * e + 4 * h * h + 8 * h
        let otherLayers = (l - 1) * (4 * h * h + 4 * h * h + 8 * h)
        return v * e + firstLayer + otherLayers + v * h + v
    }

    /// Bytes on disk of a model file and a training state of `model`, with room for their headers;
    /// `average`: the state also holds the weights' moving average.
    public static func checkpointBytes(_ model: ModelConfiguration, average: Bool = false) -> Double {
        4 * (average ? 5 : 4) * parameterCount(model) + 64 * 1024 + 32 * Double(model.vocabularySize)
    }

    /// A model read from its file: the file's bytes and the weights decoded from them.
    static func modelBytes(_ c: ModelConfiguration) -> Double { 2 * 4 * parameterCount(c) }

    /// Tokens of a corpus of `bytes` bytes: at most one 4-byte id per byte, held in the encoded
    /// stream and in the training and validation copies made from it.
    static func corpusTokenBytes(_ bytes: Int) -> Double { 3 * 4 * Double(bytes) }

    /// The buffers of `TrainingStep` for `[batch, seq]` windows.
    static func trainingWorkspace(_ c: ModelConfiguration, batch: Int, seq: Int, shards: Double,
                                  precision: ComputePrecision) -> Double {
        let v = Double(c.vocabularySize), e = Double(c.embeddingSize), h = Double(c.hiddenSize), l = Double(c.layers)
        let rows = Double(batch) * Double(seq)
        let dropout = c.dropout > 0 ? 2.0 : 0
        // Per row: the embedding and its gradient, each layer's gates and five state rows (and
        // the dropout mask and output), the logits, the hidden gradient, two masks.
        let perRow = 2 * e + l * (4 * h + 5 * h + dropout * h) + v + h + 2
        var floats = rows * perRow + 2 * Double(batch) * h + shards * l * 4 * h
        // The state carried between windows, the trainer's input and target ids.
        floats += 2 * l * Double(batch) * h + 2 * rows
        var bytes = 4 * floats
        let widest = max(e, h)
        if precision.effective == .bfloat16 {
            // Packed operands: gate gradients, activations or logit gradients of the window, one
            // step, the logit gradients blocked (and two rows of them in fp32), and the LSTM weights
            // twice (as they are, for forward, and transposed, for backward).
            bytes += 2 * (rows * max(4 * h, widest, v) + widest * rows + Double(batch) * 4 * h + rows * v)
            bytes += 4 * shards * 2 * v
            bytes += 2 * 2 * lstmWeightCount(c)
            // The decoder's weights packed the same two ways, for its bfloat16 products.
            bytes += 2 * 2 * v * h
        } else if Float32Kernels.isAvailable {
            // Each W_hh packed for the forward and the backward per-step products.
            bytes += 4 * 2 * l * 4 * h * h
        }
        return bytes
    }

    /// The buffers of one `InferenceEngine` for `batch` lanes of up to `seq` steps, and its state.
    static func inferenceWorkspace(_ c: ModelConfiguration, batch: Int, seq: Int, precision: ComputePrecision) -> Double {
        let v = Double(c.vocabularySize), e = Double(c.embeddingSize), h = Double(c.hiddenSize), l = Double(c.layers)
        let rows = Double(batch) * Double(seq)
        // Per row: embedding, gates, two output rows, logits, mask.
        var floats = rows * (e + 4 * h + 2 * h + v + 1) + l * 4 * h
        floats += 2 * l * Double(batch) * h + 2 * rows
        var bytes = 4 * floats
        let widest = max(e, h)
        if precision.effective == .bfloat16 {
            // The weights three ways (input, recurrent, and both joined for single steps).
            bytes += 2 * 2 * lstmWeightCount(c)
            bytes += 2 * (rows * widest + Double(batch) * (widest + h)) + 4 * Double(batch) * (widest + h)
        } else if Float32Kernels.isAvailable {
            bytes += 4 * l * 4 * h * h
        }
        return bytes
    }

    /// Elements of the LSTM weight matrices.
    static func lstmWeightCount(_ c: ModelConfiguration) -> Double {
        let e = Double(c.embeddingSize), h = Double(c.hiddenSize), l = Double(c.layers)
        return 4 * h * (e + h) + (l - 1) * 4 * h * (2 * h)
    }

    // MARK: The limit

    /// The bytes of physical memory, or of the control group's limit if that is lower.
    public static var availableBytes: Double {
        var total = Double(sysconf(Int32(_SC_PHYS_PAGES))) * Double(sysconf(Int32(_SC_PAGESIZE)))
        for path in ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"] {
            if let text = try? String(contentsOfFile: path, encoding: .utf8),
               let limit = Double(text.trimmingCharacters(in: .whitespacesAndNewlines)), limit > 0 {
                total = min(total, limit)
            }
        }
        return total
    }

    /// Throws when the estimate exceeds `limit` bytes, or the machine's memory when `limit` is nil.
    ///
    /// - Throws: `MemoryEstimateError.tooLarge` giving the estimate, its largest part and the limit.
    public func check(limit: Double?) throws {
        let available = limit ?? Self.availableBytes
        guard bytes > available else { return }
        let largest = parts.max { $0.bytes < $1.bytes } ?? Part(name: "", bytes: 0)
        throw MemoryEstimateError.tooLarge(work: work, bytes: bytes, largest: largest.name, largestBytes: largest.bytes,
                                           limit: available, limitIsGiven: limit != nil)
    }

    /// `1.5 GB`, `12 MB`: bytes for a message, in powers of 1000.
    public static func format(_ bytes: Double) -> String {
        if bytes >= 1e12 { return String(format: "%.1f TB", bytes / 1e12) }
        if bytes >= 1e9 { return String(format: "%.1f GB", bytes / 1e9) }
        if bytes >= 1e6 { return String(format: bytes < 1e7 ? "%.1f MB" : "%.0f MB", bytes / 1e6) }
        return String(format: bytes < 1e4 ? "%.1f kB" : "%.0f kB", bytes / 1e3)
    }
}

/// Work that would need more memory than the machine has, or than the caller allows.
public enum MemoryEstimateError: Error, Equatable, CustomStringConvertible {
    /// `largest` names the estimate's largest part; `limitIsGiven` says the limit was set by the caller, not the machine's.
    case tooLarge(work: String, bytes: Double, largest: String, largestBytes: Double, limit: Double, limitIsGiven: Bool)

    public var description: String {
        description(limitName: "the limit set for this run") { largest in
            switch largest {
            case "training windows": return "use fewer lanes or shorter windows, or a smaller model"
            case "scoring windows": return "score fewer lanes at once"
            case "sampling batch": return "draw fewer samples at once"
            case "corpus", "text": return "use a smaller corpus"
            default: return "use a smaller model (narrower, fewer layers, a smaller embedding) or one with a smaller vocabulary"
            }
        }
    }

    /// The message with the caller's name for a given limit and its hint for the largest part (a command's flags, say).
    public func description(limitName: String, hint: (String) -> String) -> String {
        switch self {
        case let .tooLarge(work, bytes, largest, largestBytes, limit, limitIsGiven):
            let bound = limitIsGiven ? "\(limitName) (\(MemoryEstimate.format(limit)))"
                : "this machine's \(MemoryEstimate.format(limit)) of memory"
            return "\(work.prefix(1).uppercased() + work.dropFirst()) needs about \(MemoryEstimate.format(bytes)) of memory (\(largest) \(MemoryEstimate.format(largestBytes))), more than \(bound); \(hint(largest))."
        }
    }
}
