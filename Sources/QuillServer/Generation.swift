import Foundation
import Quill

/// Why one choice of a completion ended, as the response's `finish_reason` names it.
public enum FinishReason: String, Sendable, Codable {
    /// `max_tokens` characters were generated.
    case length
    /// A stop string appeared (it is not part of the text).
    case stop
    /// The model ended the document.
    case endOfDocument = "end_of_document"
    /// The request's time limit, or the shutdown grace period, ran out.
    case timeLimit = "time_limit"
}

/// What the scheduler tells a request about one of its choices.
enum GenerationEvent: Sendable {
    /// Newly generated text of choice `index`, in whole grapheme clusters.
    case text(index: Int, String)
    /// Choice `index` ended after `characters` generated characters.
    case finished(index: Int, FinishReason, characters: Int)
}

/// One choice of a completion as the scheduler runs it: its prompt, settings, random generator and progress.
///
/// Created by a request, then owned by the scheduler's thread; only `cancel()` is called from elsewhere.
final class Generation: @unchecked Sendable {
    let index: Int
    /// `[DOC]` then the prompt's ids: what the lane reads before the first draw.
    let prompt: [Int32]
    let maxCharacters: Int
    let deadline: ContinuousClock.Instant
    /// Whether the client reads the text as it comes (`"stream": true`). Otherwise only the first
    /// piece is sent at once (it times the first character); the rest is kept and sent when the
    /// choice ends, which saves the request's task a wake-up per character.
    let streaming: Bool
    /// Text kept for a client that does not stream.
    private var pending = ""
    private var sentFirst = false
    private let events: AsyncStream<GenerationEvent>.Continuation
    private let cancelled = NSLock()
    private var isCancelledValue = false
    /// Text events sent but not yet taken by the request (guarded by `cancelled`).
    private var unread = 0

    /// Text events a generation may run ahead of its reader before the scheduler pauses it.
    static let maximumUnread = 64

    // Scheduler-thread state.
    let sampler: TokenSampler
    var random: QuillRandom
    var text: GeneratedTextStream
    var slot = -1
    /// Tokens of `prompt` read so far.
    var read = 0
    /// The last token drawn, read at the next step.
    var next: Int32 = 0
    var produced = 0

    init(index: Int, prompt: [Int32], parameters: GenerationParameters, stops: [String], vocabularySize: Int,
         deadline: ContinuousClock.Instant, streaming: Bool, events: AsyncStream<GenerationEvent>.Continuation) throws {
        self.index = index
        self.streaming = streaming
        self.prompt = [Vocabulary.documentID] + prompt
        maxCharacters = parameters.maxLength
        self.deadline = deadline
        self.events = events
        sampler = TokenSampler(vocabularySize: vocabularySize, settings: parameters.sampling)
        random = QuillRandom(seed: parameters.seed)
        text = try GeneratedTextStream(stops: stops)
    }

    /// Asks the scheduler to drop this choice at its next step (the client has gone).
    func cancel() {
        cancelled.lock()
        isCancelledValue = true
        cancelled.unlock()
    }

    var isCancelled: Bool {
        cancelled.lock()
        defer { cancelled.unlock() }
        return isCancelledValue
    }

    func emit(_ piece: String) {
        guard !piece.isEmpty else { return }
        if !streaming && sentFirst {
            pending += piece
            return
        }
        sentFirst = true
        send(piece)
    }

    private func send(_ piece: String) {
        cancelled.lock()
        unread += 1
        cancelled.unlock()
        events.yield(.text(index: index, piece))
    }

    /// Called by the request once it has sent (or kept) a text event, so the generation may go on.
    func acknowledge() {
        cancelled.lock()
        unread -= 1
        cancelled.unlock()
    }

    /// True while the reader is too far behind: the scheduler skips this generation's steps.
    var isPaused: Bool {
        cancelled.lock()
        defer { cancelled.unlock() }
        return unread >= Self.maximumUnread
    }

    func finish(_ reason: FinishReason) {
        if reason != .stop { emit(text.finish()) }
        if !pending.isEmpty {
            send(pending)
            pending = ""
        }
        events.yield(.finished(index: index, reason, characters: produced))
    }
}
