/// Generation lanes that join and leave between characters, stepped together through the engine.
///
/// Each lane's LSTM state (hidden and cell, every layer) lives in a slot of `store`; a step gathers
/// the slots it advances into the first lanes of an engine's state (`RecurrentState.copyLane`),
/// runs `InferenceEngine.step`, and scatters the new states back. The copies keep the live lanes
/// contiguous, so a step runs only as many lanes as are live, whichever slots they hold.
///
/// A lane's logits are the same bits whatever else shares its steps, so a generation's text
/// depends only on its own prompt, settings and seed:
/// - with bfloat16 products the engine's recurrent steps give a lane the same state at any batch
///   size (`LaneBatchTests` checks this), so live lanes are stepped together in an engine of the
///   next power-of-two size (extra lanes read `[DOC]` and are ignored);
/// - with float32 products the BLAS kernels round differently at different batch sizes, so each
///   lane is stepped alone through a one-lane engine (no shared products; the same bits as
///   `quill sample`);
/// - either way the engine's single steps compute the decoder (`h W_dec^T + b`) row by row, with
///   the one-row product of a one-lane engine.
package final class LaneBatch {
    /// Most lanes that may be live at once.
    package let capacity: Int
    package let model: LanguageModel
    /// True when live lanes share engine steps (bfloat16 products); false when each steps alone.
    package let sharesSteps: Bool

    private let precision: ComputePrecision
    /// - store: [layers, capacity, H] hidden and cell state of every slot.
    private let store: RecurrentState
    private var engines: [Int: Workspace] = [:]
    /// - rows: [capacity, V], the logits of the last step when each lane steps alone.
    private let rows: UnsafeMutablePointer<Float>

    /// An engine of one size, its state and its buffers.
    private final class Workspace {
        let engine: InferenceEngine
        let state: RecurrentState
        /// - tokens: [size]
        var tokens: [Int32]
        /// - logits: [size, V], the logits of the last step, live lanes first.
        let logits: UnsafeMutablePointer<Float>

        init(model: LanguageModel, size: Int, precision: ComputePrecision) {
            engine = InferenceEngine(model: model, batch: size, maxSeq: 1, precision: precision)
            state = RecurrentState(configuration: model.configuration, batch: size)
            tokens = [Int32](repeating: 0, count: size)
            logits = .allocate(capacity: size * model.configuration.vocabularySize)
        }

        deinit { logits.deallocate() }
    }

    /// - Parameters:
    ///   - capacity: slots, the most lanes live at once.
    ///   - precision: `.bfloat16` (lanes share steps; float32 on CPUs without it) or `.float32` (each lane alone).
    package init(model: LanguageModel, capacity: Int, precision: ComputePrecision) {
        precondition(capacity >= 1, "capacity must be positive")
        self.model = model
        self.capacity = capacity
        self.precision = precision.effective
        sharesSteps = self.precision == .bfloat16
        store = RecurrentState(configuration: model.configuration, batch: capacity)
        rows = .allocate(capacity: capacity * model.configuration.vocabularySize)
    }

    deinit { rows.deallocate() }

    /// Sets a slot's state to zero, as at the start of a document.
    package func reset(slot: Int) {
        store.zero(lane: slot)
    }

    /// Advances the given slots by one token each and returns their next-token logits.
    ///
    /// - Parameters:
    ///   - slots: distinct slot numbers below `capacity`.
    ///   - tokens: one token per slot; `[DOC]` resets that slot first.
    /// - Returns: [slots.count, V] logits, row `i` for `slots[i]`; valid until the next call.
    package func step(slots: [Int], tokens: [Int32]) -> UnsafePointer<Float> {
        precondition(slots.count == tokens.count && !slots.isEmpty && slots.count <= capacity, "one token per slot")
        if sharesSteps {
            var size = 1
            while size < slots.count { size *= 2 }
            let work = workspace(size)
            run(slots[...], tokens: tokens[...], in: work)
            return UnsafePointer(work.logits)
        }
        let single = workspace(1), v = model.configuration.vocabularySize
        for i in slots.indices {
            run(slots[i...i], tokens: tokens[i...i], in: single)
            (rows + i * v).update(from: single.logits, count: v)
        }
        return UnsafePointer(rows)
    }

    /// A copy of one slot's hidden state of the last layer, [H].
    package func lastHidden(slot: Int) -> [Float] {
        let h = store.hiddenSize
        return Array(UnsafeBufferPointer(start: store.hidden(layer: store.layers - 1) + slot * h, count: h))
    }

    /// Gathers `slots` into the workspace's first lanes, steps the engine, and scatters them back.
    private func run(_ slots: ArraySlice<Int>, tokens: ArraySlice<Int32>, in work: Workspace) {
        transfer(slots, work, gather: true)
        for (i, token) in tokens.enumerated() { work.tokens[i] = token }
        for i in tokens.count..<work.tokens.count { work.tokens[i] = Vocabulary.documentID }
        work.tokens.withUnsafeBufferPointer { work.engine.step(tokens: $0, state: work.state, logits: work.logits) }
        transfer(slots, work, gather: false)
    }

    /// Copies every layer's hidden and cell state of `slots` to the workspace's lanes 0, 1, ... (gather) or back.
    private func transfer(_ slots: ArraySlice<Int>, _ work: Workspace, gather: Bool) {
        for (i, slot) in slots.enumerated() {
            if gather {
                work.state.copyLane(from: store, lane: slot, into: i)
            } else {
                store.copyLane(from: work.state, lane: i, into: slot)
            }
        }
    }

    private func workspace(_ size: Int) -> Workspace {
        if let work = engines[size] { return work }
        let work = Workspace(model: model, size: size, precision: precision)
        engines[size] = work
        return work
    }
}
