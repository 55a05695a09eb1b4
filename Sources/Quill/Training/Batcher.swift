/// Where a `Batcher` stands in its data: the epoch and the offset of the next window inside every lane.
///
/// Small and Codable, so the training-state file can hold it and a resumed run reads the same windows.
public struct BatchPosition: Codable, Equatable, Hashable, Sendable {
    /// Number of completed passes over the lanes.
    public var epoch: Int
    /// Offset of the next window's first input token inside each lane; a multiple of `seq`.
    public var offset: Int

    public init(epoch: Int = 0, offset: Int = 0) {
        self.epoch = epoch
        self.offset = offset
    }
}

/// What one call to `Batcher.next` produced.
public struct BatchWindow: Equatable, Sendable {
    /// The epoch this window belongs to.
    public var epoch: Int
    /// Offset of the window's first input token inside each lane.
    public var offset: Int
    /// Whether this was the epoch's last window: the next window starts again at offset 0,
    /// so the caller must zero the recurrent state before it.
    public var endsEpoch: Bool

    public init(epoch: Int, offset: Int, endsEpoch: Bool) {
        self.epoch = epoch
        self.offset = offset
        self.endsEpoch = endsEpoch
    }
}

/// Truncated-BPTT windows over a token stream cut into `batch` contiguous lanes, as the benchmark's peer does.
///
/// The stream of `count` tokens becomes `batch` lanes of `laneLength = count / batch` tokens
/// (the remainder is dropped); lane b is `tokens[b * laneLength ..< (b + 1) * laneLength]`.
/// Each window takes the next `seq` tokens of every lane as inputs and the same tokens shifted by
/// one as targets, so the recurrent state of lane b carries from one window to the next.
/// An epoch has `(laneLength - 1) / seq` windows; the lane tail that cannot fill a window is skipped.
///
/// The stream is a `TokenSource`: an array in memory, or prepared shards of which each window reads
/// only the `seq + 1` tokens of every lane it needs. Both give the same windows for the same tokens;
/// `next` throws what the source's reads throw, so over an array it cannot fail and needs no `try`.
///
/// The state resets at `[DOC]` tokens inside windows are the model's business: a reset belongs
/// exactly before every input equal to `Vocabulary.documentID`.
public struct Batcher<Source: TokenSource>: Sendable {
    /// Number of lanes (rows of a window).
    public let batch: Int
    /// Tokens per window and lane (columns of a window).
    public let seq: Int
    /// Tokens in each lane.
    public let laneLength: Int
    /// The stream; only its first `batch * laneLength` tokens are read.
    private let source: Source
    /// One lane's window and the target after it: [seq + 1].
    private var lane: [Int32]
    /// The next window's place.
    public private(set) var position: BatchPosition
    /// The lanes `next` reads (all by default); a rank of a distributed run reads only its own,
    /// and the other lanes' rows of the window are left as they were.
    public var readLanes: Range<Int>

    /// Lanes over a token source, starting at `position`.
    ///
    /// - Throws: `TrainingError.corpusTooShort` when a lane cannot hold one window and its shifted
    ///   target (`source.count < batch * (seq + 1)`); `TrainingError.positionOutOfRange` when `position`
    ///   was not saved from lanes of this shape.
    public init(source: Source, batch: Int, seq: Int, position: BatchPosition = BatchPosition()) throws {
        precondition(batch > 0 && seq > 0, "batch and seq must be positive")
        let needed = batch * (seq + 1)
        guard source.count >= needed else {
            throw TrainingError.corpusTooShort(tokens: source.count, needed: needed, batch: batch, seq: seq)
        }
        let laneLength = source.count / batch
        guard position.epoch >= 0, position.offset >= 0, position.offset % seq == 0,
              position.offset + seq + 1 <= laneLength else {
            throw TrainingError.positionOutOfRange(offset: position.offset, laneLength: laneLength, seq: seq)
        }
        self.batch = batch
        self.seq = seq
        self.laneLength = laneLength
        self.source = source
        self.lane = [Int32](repeating: 0, count: seq + 1)
        self.position = position
        self.readLanes = 0..<batch
    }

    /// Number of windows in one pass over the lanes.
    public var windowsPerEpoch: Int { (laneLength - 1) / seq }

    /// Number of tokens each window feeds (`batch * seq`).
    public var tokensPerWindow: Int { batch * seq }

    /// Writes the next window and advances the position.
    ///
    /// - Parameters:
    ///   - inputs: `[batch, seq]` lane-major: `inputs[b * seq + t]` is lane b's token at `offset + t`.
    ///   - targets: `[batch, seq]` lane-major: `targets[b * seq + t]` is lane b's token at `offset + t + 1`.
    /// - Returns: the window's epoch and offset, and whether it ended the epoch.
    /// - Throws: what the source throws when its tokens cannot be read; the position is then unchanged.
    @discardableResult
    public mutating func next(inputs: UnsafeMutableBufferPointer<Int32>,
                              targets: UnsafeMutableBufferPointer<Int32>) throws(Source.ReadError) -> BatchWindow {
        precondition(inputs.count == batch * seq && targets.count == batch * seq,
                     "Batcher: inputs and targets must hold batch * seq tokens")
        let offset = position.offset
        let (seq, laneLength, source, lanes) = (self.seq, self.laneLength, self.source, self.readLanes)
        try lane.withUnsafeMutableBufferPointer { (window) throws(Source.ReadError) in
            for b in lanes {
                try source.read(from: b * laneLength + offset, into: window)
                let row = b * seq
                for t in 0..<seq {
                    inputs[row + t] = window[t]
                    targets[row + t] = window[t + 1]
                }
            }
        }
        let window = BatchWindow(epoch: position.epoch, offset: offset, endsEpoch: false)
        position.offset += seq
        guard position.offset + seq + 1 > laneLength else { return window }
        position = BatchPosition(epoch: position.epoch + 1, offset: 0)
        return BatchWindow(epoch: window.epoch, offset: offset, endsEpoch: true)
    }

    /// Writes the next window into arrays of `batch * seq` tokens; see `next(inputs:targets:)`.
    @discardableResult
    public mutating func next(inputs: inout [Int32], targets: inout [Int32]) throws(Source.ReadError) -> BatchWindow {
        try inputs.withUnsafeMutableBufferPointer { (i) throws(Source.ReadError) in
            try targets.withUnsafeMutableBufferPointer { (t) throws(Source.ReadError) in try next(inputs: i, targets: t) }
        }
    }
}

extension Batcher where Source == ArrayTokenSource {
    /// Lanes over `tokens` in memory, starting at `position`; see `init(source:batch:seq:position:)`.
    public init(tokens: [Int32], batch: Int, seq: Int, position: BatchPosition = BatchPosition()) throws {
        try self.init(source: ArrayTokenSource(tokens), batch: batch, seq: seq, position: position)
    }
}

/// A token stream divided into the part that trains and the part that validates.
public struct TrainingSplit: Equatable, Sendable {
    /// The first part of the stream, as given (it starts with `[DOC]` when the stream does).
    public var training: [Int32]
    /// The last part of the stream, always starting with `[DOC]`.
    public var validation: [Int32]
}

extension TrainingSplit {
    /// Splits a token stream: the last `validationFraction` of it validates, the rest trains.
    ///
    /// The cut is where the benchmark's peer cuts, `count - Int(count * validationFraction)` (the last 10%
    /// of characters by default), wherever it falls inside a document. The validation part then gets a
    /// `[DOC]` in front when it does not already start with one, so it opens with a clean state reset like
    /// any document; its first character is predicted from `[DOC]`, one target more than the peer counts.
    /// - Parameters:
    ///   - tokens: the whole encoded corpus, `[DOC] c1 ... cn [DOC] ...`.
    ///   - validationFraction: in (0, 1).
    /// - Throws: `TrainingError.emptyValidationSplit` when the validation part would have no target.
    public static func split(tokens: [Int32], validationFraction: Double) throws -> TrainingSplit {
        precondition(validationFraction > 0 && validationFraction < 1, "validationFraction must be in (0, 1)")
        let validationCount = Int(Double(tokens.count) * validationFraction)
        let cut = tokens.count - validationCount
        var validation = Array(tokens[cut...])
        if validation.first != Vocabulary.documentID {
            validation.insert(Vocabulary.documentID, at: 0)
        }
        // A part of [DOC] alone (or nothing) has no target to score.
        guard validationCount > 0, validation.count >= 2 else {
            throw TrainingError.emptyValidationSplit(tokens: tokens.count, validationFraction: validationFraction)
        }
        return TrainingSplit(training: Array(tokens[..<cut]), validation: validation)
    }
}
