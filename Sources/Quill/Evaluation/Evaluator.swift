import Foundation

/// The result of scoring a token stream: summed cross-entropy and how many targets it covers.
public struct EvaluationResult: Equatable, Sendable, Codable {
    /// Sum of -log p(target) over every scored target, in nats.
    public var totalNats: Double
    /// Targets scored (every token after the first, `[DOC]` ends of documents included).
    public var count: Int

    public init(totalNats: Double = 0, count: Int = 0) {
        self.totalNats = totalNats
        self.count = count
    }

    /// Mean cross-entropy in nats per character.
    public var natsPerCharacter: Double { count > 0 ? totalNats / Double(count) : .nan }
    /// Mean cross-entropy in bits per character.
    public var bitsPerCharacter: Double { natsPerCharacter / 0.693_147_180_559_945_3 }
    /// exp(nats per character).
    public var perplexity: Double { Foundation.exp(natsPerCharacter) }
}

/// Scores a token stream with a model: the whole text in batched lanes, the state carried from
/// window to window, reset before every `[DOC]`.
///
/// The stream's `count - 1` targets are split into `batch` contiguous lanes of equal length; the
/// few targets left over are scored after the last lane, continuing its state, so every target is
/// scored exactly once. Each lane starts from a zero state (a lane that starts inside a document
/// sees only that document's rest, as in the PyTorch peer's evaluation).
public final class Evaluator {
    public let model: LanguageModel
    /// Lanes scored together.
    public let batch: Int
    /// Tokens per window of each lane.
    public let seq: Int
    private let engine: InferenceEngine
    private let tailEngine: InferenceEngine
    private var inputs: [Int32]
    private var targets: [Int32]

    /// - Parameters:
    ///   - batch: lanes scored together; typical 16 to 128.
    ///   - seq: window length; only affects speed, never the result.
    ///   - precision: the engine's products: `.float32` (exact, the default) or `.bfloat16` (about
    ///     four times faster here, within about 1e-3 of float32 in nats per character).
    public init(model: LanguageModel, batch: Int = 32, seq: Int = 128, precision: ComputePrecision = .float32) {
        precondition(batch >= 1 && seq >= 1)
        self.model = model
        self.batch = batch
        self.seq = seq
        engine = InferenceEngine(model: model, batch: batch, maxSeq: seq, precision: precision)
        tailEngine = InferenceEngine(model: model, batch: 1, maxSeq: seq, precision: precision)
        inputs = [Int32](repeating: 0, count: batch * seq)
        targets = [Int32](repeating: 0, count: batch * seq)
    }

    /// Scores every target of `tokens`.
    ///
    /// - Parameters:
    ///   - tokens: a token stream, normally starting with `[DOC]`; ids must be below the vocabulary size.
    ///   - progress: called with the number of targets scored so far, after each window.
    public func evaluate(_ tokens: [Int32], progress: ((Int) -> Void)? = nil) -> EvaluationResult {
        let targetsTotal = tokens.count - 1
        guard targetsTotal > 0 else { return EvaluationResult() }
        let lanes = min(batch, targetsTotal)
        let laneLength = targetsTotal / lanes
        var result = EvaluationResult()
        let state = RecurrentState(configuration: model.configuration, batch: batch)
        var done = 0
        tokens.withUnsafeBufferPointer { stream in
            var position = 0
            if lanes == batch {
                while position < laneLength {
                    let width = min(seq, laneLength - position)
                    fill(stream, laneStride: laneLength, lanes: lanes, from: position, width: width)
                    result.totalNats += inputs.withUnsafeBufferPointer { i in
                        targets.withUnsafeBufferPointer { t in
                            engine.crossEntropy(inputs: UnsafeBufferPointer(rebasing: i[..<(lanes * width)]),
                                                targets: UnsafeBufferPointer(rebasing: t[..<(lanes * width)]),
                                                seq: width, state: state)
                        }
                    }
                    result.count += lanes * width
                    position += width
                    done += lanes * width
                    progress?(done)
                }
            }
            // The rest: either the stream is shorter than `batch` lanes, or the targets left
            // over after the equal lanes, continuing the last lane's state.
            let tailState = RecurrentState(configuration: model.configuration, batch: 1)
            var start: Int
            if lanes == batch {
                start = lanes * laneLength
                tailState.copyLane(from: state, lane: batch - 1)
            } else {
                start = 0
            }
            while start < targetsTotal {
                let width = min(seq, targetsTotal - start)
                for t in 0..<width {
                    inputs[t] = stream[start + t]
                    targets[t] = stream[start + t + 1]
                }
                result.totalNats += inputs.withUnsafeBufferPointer { i in
                    targets.withUnsafeBufferPointer { t in
                        tailEngine.crossEntropy(inputs: UnsafeBufferPointer(rebasing: i[..<width]),
                                                targets: UnsafeBufferPointer(rebasing: t[..<width]),
                                                seq: width, state: tailState)
                    }
                }
                result.count += width
                start += width
                done += width
                progress?(done)
            }
        }
        return result
    }

    /// Copies a `[lanes, width]` window of inputs and shifted targets, lane-major with row stride `width`.
    private func fill(_ stream: UnsafeBufferPointer<Int32>, laneStride: Int, lanes: Int, from position: Int, width: Int) {
        for b in 0..<lanes {
            let base = b * laneStride + position
            for t in 0..<width {
                inputs[b * width + t] = stream[base + t]
                targets[b * width + t] = stream[base + t + 1]
            }
        }
    }
}
