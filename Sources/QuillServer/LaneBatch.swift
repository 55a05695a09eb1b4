import Quill

/// Generation lanes that join and leave between characters, stepped together through one engine call.
///
/// This is the one place the server touches the engine's state layout. Each lane's LSTM state
/// (hidden and cell, every layer) lives in a slot of `store`; a step gathers the slots of the lanes
/// it advances into the state of an engine sized for them, runs `InferenceEngine.step`, and
/// scatters the new states back. Engines come in a few sizes (powers of two), so a step of `n`
/// lanes costs about `n` lanes of work, and a lone lane runs the same batch-1 path as `quill sample`.
/// Lanes past `n` in the engine are fed `[DOC]` (a reset) and their results ignored.
///
/// The current engine keeps one state for all its lanes, so the per-lane operations (reset, move
/// between slots) are written here against `RecurrentState`'s public buffers; with an engine whose
/// lanes are addressable, `step` would pass slot numbers instead of copying.
final class LaneBatch {
    /// Most lanes that may be live at once.
    let capacity: Int
    let model: LanguageModel
    let precision: ComputePrecision
    let vocabularySize: Int

    /// - store: [layers, capacity, H] hidden and cell state of every slot.
    private let store: RecurrentState
    private var engines: [Int: Workspace] = [:]

    /// An engine of one size, its state and its buffers.
    private final class Workspace {
        let engine: InferenceEngine
        let state: RecurrentState
        /// - tokens: [size]
        var tokens: [Int32]
        /// - logits: [size, V]
        let logits: UnsafeMutablePointer<Float>

        init(model: LanguageModel, size: Int, precision: ComputePrecision) {
            engine = InferenceEngine(model: model, batch: size, maxSeq: 1, precision: precision)
            state = RecurrentState(configuration: model.configuration, batch: size)
            tokens = [Int32](repeating: 0, count: size)
            logits = .allocate(capacity: size * model.configuration.vocabularySize)
        }

        deinit { logits.deallocate() }
    }

    init(model: LanguageModel, capacity: Int, precision: ComputePrecision) {
        precondition(capacity >= 1)
        self.model = model
        self.capacity = capacity
        self.precision = precision
        vocabularySize = model.configuration.vocabularySize
        store = RecurrentState(configuration: model.configuration, batch: capacity)
    }

    /// The engine size used for `count` lanes: the next power of two, at most `capacity` rounded up.
    static func engineSize(for count: Int) -> Int {
        var size = 1
        while size < count { size *= 2 }
        return size
    }

    /// Sets a slot's state to zero, as at the start of a document.
    func reset(slot: Int) {
        store.zero(lane: slot)
    }

    /// Advances the given slots by one token each and returns their next-token logits.
    ///
    /// - Parameters:
    ///   - slots: distinct slot numbers, below `capacity`.
    ///   - tokens: one token per slot; `[DOC]` resets that slot first.
    /// - Returns: [slots.count, V] logits, row `i` for `slots[i]`; valid until the next call.
    func step(slots: [Int], tokens: [Int32]) -> UnsafePointer<Float> {
        precondition(slots.count == tokens.count && !slots.isEmpty)
        let size = Self.engineSize(for: slots.count)
        let work = workspace(size)
        let h = store.hiddenSize
        for k in 0..<store.layers {
            let fromH = store.hidden(layer: k), fromC = store.cell(layer: k)
            let toH = work.state.hidden(layer: k), toC = work.state.cell(layer: k)
            for (i, slot) in slots.enumerated() {
                (toH + i * h).update(from: fromH + slot * h, count: h)
                (toC + i * h).update(from: fromC + slot * h, count: h)
            }
        }
        for i in 0..<size { work.tokens[i] = i < tokens.count ? tokens[i] : Vocabulary.documentID }
        work.tokens.withUnsafeBufferPointer { work.engine.step(tokens: $0, state: work.state, logits: work.logits) }
        for k in 0..<store.layers {
            let toH = store.hidden(layer: k), toC = store.cell(layer: k)
            let fromH = work.state.hidden(layer: k), fromC = work.state.cell(layer: k)
            for (i, slot) in slots.enumerated() {
                (toH + slot * h).update(from: fromH + i * h, count: h)
                (toC + slot * h).update(from: fromC + i * h, count: h)
            }
        }
        return UnsafePointer(work.logits)
    }

    private func workspace(_ size: Int) -> Workspace {
        if let work = engines[size] { return work }
        let work = Workspace(model: model, size: size, precision: precision)
        engines[size] = work
        return work
    }
}
