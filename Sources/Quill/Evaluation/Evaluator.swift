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

/// How `Evaluator` cuts a stream into lanes: how many, how long, and how much context each reads first.
public struct LanePlan: Equatable, Sendable {
    /// Lanes scored together (at most the evaluator's `batch`).
    public var lanes: Int
    /// Targets each lane scores; lane `b` scores targets `b * laneLength ..< (b + 1) * laneLength`,
    /// and the targets after `lanes * laneLength` are scored after the last lane, continuing it.
    public var laneLength: Int
    /// Tokens every lane reads, unscored, just before its span (its burn-in).
    public var burnIn: Int

    public init(lanes: Int, laneLength: Int, burnIn: Int) {
        self.lanes = lanes
        self.laneLength = laneLength
        self.burnIn = burnIn
    }
}

/// Scores a token stream with a model as one sequential pass would, in batched lanes: the
/// state carried from window to window, reset before every `[DOC]`.
///
/// Sequential scoring reads the stream from a zero state in one lane; that is the true figure,
/// and PyTorch's one-pass scoring matches it. To score in `batch` lanes and still give that
/// figure, each lane must start its span in the state the sequential pass has there. A lane
/// gets it by first reading, without scoring, the tokens just before its span (its burn-in):
/// - When a `[DOC]` lies within the burn-in (or the span starts with one), the state is reset
///   there exactly as in the sequential pass, so the lane's state is the sequential one (up to
///   rounding) and its span scores exactly.
/// - Otherwise the lane reads `burnIn` tokens from a zero state, and relies on the model having
///   forgotten that start by the end of them (see `defaultBurnIn` for how fast it does).
///
/// The burn-in every lane reads is the longest any lane needs: the distance back to the `[DOC]`
/// before its start, at most `burnIn`. Text of many short documents needs little; one long
/// document needs `burnIn` tokens per lane. Burn-in costs `lanes * burnIn` extra token steps
/// (scored, but the scores are dropped), so the plan uses fewer lanes than `batch` while lanes
/// would be shorter than `laneToBurnInRatio` burn-ins; the extra work is then at most an eighth
/// of the scoring, and on long text with the default 32 lanes a few percent. The figure no longer
/// depends on `batch` (beyond rounding, about 1e-8 nats per character); `batch` and `seq` only
/// change speed. With `burnIn` 0 every lane that starts inside a document starts from a zero
/// state, as lanes did before (a higher figure that depends on `batch`).
public final class Evaluator {
    /// Tokens a lane reads from a zero state before its span when no `[DOC]` is nearer: long
    /// enough that a trained model's state has forgotten its zero start.
    ///
    /// Measured on a 2-layer, 256-wide model trained briefly on tiny-shakespeare (2.08 nats per
    /// character): scoring 512 characters at 64 places of the held-out text after reading `n`
    /// characters from a zero state, against the true state, the excess of a lane's span falls
    /// from 3.2 nats on average (12.5 at worst) with no burn-in to 1e-3 (1.2e-2 at worst) after
    /// 64, 6e-5 (7.8e-4) after 128 and 8e-6 (1.1e-4) after 192: about a factor e every 23
    /// characters. With lanes at least 8 burn-ins long (1536 characters), even the worst excess in
    /// every lane adds under 1e-7 nats per character. A model whose memory fades twice as slowly
    /// (a factor e every 46 characters) would still stay within the 1e-4 allowed (about 3e-5 on
    /// average, 1.2e-4 if every lane were the worst); one that remembers longer needs a longer
    /// burn-in (`quill eval --burn-in`).
    public static let defaultBurnIn = 192
    /// Lanes are at least this many burn-ins long, so burn-in adds at most 1/8 to the work.
    public static let laneToBurnInRatio = 8

    public let model: LanguageModel
    /// Most lanes scored together.
    public let batch: Int
    /// Tokens per window of each lane.
    public let seq: Int
    /// Longest burn-in of a lane that starts inside a document.
    public let burnIn: Int
    private let precision: ComputePrecision
    /// The one-lane engine and the last plan's, made when first needed (each holds packed weights).
    private var engines: [Int: InferenceEngine] = [:]
    private var inputs: [Int32]
    private var targets: [Int32]

    /// - Parameters:
    ///   - batch: most lanes scored together; typical 16 to 128. Only affects speed.
    ///   - seq: window length; only affects speed, never the result.
    ///   - precision: the engine's products: `.float32` (exact, the default) or `.bfloat16` (about
    ///     four times faster here, within about 1e-3 of float32 in nats per character).
    ///   - burnIn: tokens a lane reads from a zero state before its span when no `[DOC]` is
    ///     nearer; 0 starts such lanes from a zero state (not the sequential figure).
    public init(model: LanguageModel, batch: Int = 32, seq: Int = 128, precision: ComputePrecision = .float32,
                burnIn: Int = Evaluator.defaultBurnIn) {
        precondition(batch >= 1 && seq >= 1 && burnIn >= 0)
        self.model = model
        self.batch = batch
        self.seq = seq
        self.burnIn = burnIn
        self.precision = precision
        inputs = [Int32](repeating: 0, count: batch * seq)
        targets = [Int32](repeating: 0, count: batch * seq)
    }

    /// The lanes `evaluate` uses for `tokens`: as many as `batch` allows while each lane is at
    /// least `laneToBurnInRatio` burn-ins long.
    public func plan(_ tokens: [Int32]) -> LanePlan {
        let targetsTotal = tokens.count - 1
        guard targetsTotal > 1 else { return LanePlan(lanes: 1, laneLength: max(targetsTotal, 0), burnIn: 0) }
        var lanes = min(batch, targetsTotal)
        while lanes > 1 {
            let length = targetsTotal / lanes
            var longest = 0, fits = true
            for b in 1..<lanes {
                longest = max(longest, contextNeeded(tokens, before: b * length))
                if lanes * longest * Self.laneToBurnInRatio > targetsTotal { fits = false; break }
            }
            if fits { return LanePlan(lanes: lanes, laneLength: length, burnIn: longest) }
            lanes -= 1
        }
        return LanePlan(lanes: 1, laneLength: targetsTotal, burnIn: 0)
    }

    /// Tokens before `start` a lane must read to reach the sequential state there: back to the
    /// `[DOC]` that last reset it (0 when `start` is one), or to the stream's start, at most `burnIn`.
    private func contextNeeded(_ tokens: [Int32], before start: Int) -> Int {
        if tokens[start] == 0 { return 0 }
        var p = start - 1
        while p >= 0 && start - p <= burnIn {
            if tokens[p] == 0 { return start - p }
            p -= 1
        }
        return min(start, burnIn)
    }

    /// Scores every target of `tokens`.
    ///
    /// - Parameters:
    ///   - tokens: a token stream, normally starting with `[DOC]`; ids must be below the vocabulary size.
    ///   - progress: called with the number of targets scored so far, after each window.
    public func evaluate(_ tokens: [Int32], progress: ((Int) -> Void)? = nil) -> EvaluationResult {
        let targetsTotal = tokens.count - 1
        guard targetsTotal > 0 else { return EvaluationResult() }
        let plan = self.plan(tokens)
        let lanes = plan.lanes, laneLength = plan.laneLength
        var result = EvaluationResult()
        let engine = self.engine(lanes: lanes), tailEngine = self.engine(lanes: 1)
        let state = RecurrentState(configuration: model.configuration, batch: lanes)
        var done = 0
        tokens.withUnsafeBufferPointer { stream in
            var position = 0
            if lanes > 1 {
                // Burn-in: each lane reads the tokens before its span, unscored; lane 0, which
                // starts the stream, reads [DOC]s and is zeroed after.
                var read = 0
                while read < plan.burnIn {
                    let width = min(seq, plan.burnIn - read)
                    fill(width: width) { b, t in b > 0 ? b * laneLength - plan.burnIn + read + t : nil }
                    _ = run(engine, rows: lanes * width, seq: width, state: state)
                    read += width
                }
                state.zero(lane: 0)
                while position < laneLength {
                    let width = min(seq, laneLength - position)
                    fill(width: width) { b, t in b * laneLength + position + t }
                    result.totalNats += run(engine, rows: lanes * width, seq: width, state: state)
                    result.count += lanes * width
                    position += width
                    done += lanes * width
                    progress?(done)
                }
            }
            // The rest: the whole stream when it is one lane, else the targets left over after
            // the equal lanes, continuing the last lane's state.
            let tailState = RecurrentState(configuration: model.configuration, batch: 1)
            var start = 0
            if lanes > 1 {
                start = lanes * laneLength
                tailState.copyLane(from: state, lane: lanes - 1)
            }
            while start < targetsTotal {
                let width = min(seq, targetsTotal - start)
                for t in 0..<width {
                    inputs[t] = stream[start + t]
                    targets[t] = stream[start + t + 1]
                }
                result.totalNats += run(tailEngine, rows: width, seq: width, state: tailState)
                result.count += width
                start += width
                done += width
                progress?(done)
            }

            /// Copies a `[lanes, width]` window, lane-major with row stride `width`: lane `b`'s step `t`
            /// reads the token at `source(b, t)` and targets the next; nil is a `[DOC]` pair.
            func fill(width: Int, source: (Int, Int) -> Int?) {
                for b in 0..<lanes {
                    for t in 0..<width {
                        if let i = source(b, t) {
                            inputs[b * width + t] = stream[i]
                            targets[b * width + t] = stream[i + 1]
                        } else {
                            inputs[b * width + t] = 0
                            targets[b * width + t] = 0
                        }
                    }
                }
            }
        }
        return result
    }

    /// The engine for `lanes` lanes, kept with the one-lane engine for the next call; others are dropped.
    private func engine(lanes: Int) -> InferenceEngine {
        if let engine = engines[lanes] { return engine }
        if lanes != 1 { engines = engines.filter { $0.key == 1 } }
        let engine = InferenceEngine(model: model, batch: lanes, maxSeq: seq, precision: precision)
        engines[lanes] = engine
        return engine
    }

    /// The engine's summed cross-entropy of the first `rows` inputs and targets.
    private func run(_ engine: InferenceEngine, rows: Int, seq: Int, state: RecurrentState) -> Double {
        inputs.withUnsafeBufferPointer { i in
            targets.withUnsafeBufferPointer { t in
                engine.crossEntropy(inputs: UnsafeBufferPointer(rebasing: i[..<rows]),
                                    targets: UnsafeBufferPointer(rebasing: t[..<rows]), seq: seq, state: state)
            }
        }
    }
}
