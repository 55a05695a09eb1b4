/// Generation lanes that join and leave between characters, stepped together through the engine.
///
/// This is the one place generation touches the engine's state layout. Each lane's LSTM state
/// (hidden and cell, every layer) lives in a slot of `store`; a step gathers the slots it advances
/// into the state of an engine, runs `InferenceEngine.step`, and scatters the new states back.
/// The current engine keeps one state for all its lanes, so these per-lane operations (reset,
/// gather, scatter) are written here against `RecurrentState`'s buffers; with an engine whose lanes
/// are addressable, `step` would pass slot numbers instead of copying.
///
/// A lane's logits are the same bits whatever else shares its steps, so a generation's text
/// depends only on its own prompt, settings and seed:
/// - with bfloat16 products the engine's recurrent steps give a lane the same state at any batch
///   size (`LaneBatchTests` checks this), so live lanes are stepped together in an engine of the
///   next power-of-two size (extra lanes read `[DOC]` and are ignored);
/// - with float32 products the BLAS kernels round differently at different batch sizes, so each
///   lane is stepped alone through a one-lane engine (no shared products; the same bits as
///   `quill sample`);
/// - either way the decoder (`h W_dec^T + b`) is computed lane by lane with the same one-row product
///   the one-lane engine uses, rather than the batch-size-dependent product inside the engine.
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
    /// - rows: [capacity, V], the logits of the last step.
    private let rows: UnsafeMutablePointer<Float>

    /// An engine of one size, its state and its buffers.
    private final class Workspace {
        let engine: InferenceEngine
        let state: RecurrentState
        /// - tokens: [size]
        var tokens: [Int32]
        /// - logits: [size, V], the engine's own (unused) logits.
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
            run(slots[...], tokens: tokens[...], in: workspace(size))
        } else {
            let single = workspace(1)
            for i in slots.indices { run(slots[i...i], tokens: tokens[i...i], in: single) }
        }
        let c = model.configuration
        let h = c.hiddenSize, v = c.vocabularySize
        let decoder = model.weights.view(at: model.layout.decoderWeightIndex)
        let bias = model.weights.view(at: model.layout.decoderBiasIndex)
        let last = store.hidden(layer: c.layers - 1)
        for (i, slot) in slots.enumerated() {
            let row = rows + i * v
            BLAS.gemv(transpose: false, rows: v, columns: h, a: decoder, lda: h, x: last + slot * h, beta: 0, y: row)
            for j in 0..<v { row[j] += bias[j] }
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
        let h = store.hiddenSize
        for k in 0..<store.layers {
            for (stored, engine) in [(store.hidden(layer: k), work.state.hidden(layer: k)), (store.cell(layer: k), work.state.cell(layer: k))] {
                for (i, slot) in slots.enumerated() {
                    if gather {
                        (engine + i * h).update(from: stored + slot * h, count: h)
                    } else {
                        (stored + slot * h).update(from: engine + i * h, count: h)
                    }
                }
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
