/// How dropout masks are drawn: a fresh mask at every step, or one per lane per window.
public enum DropoutMasks: String, Codable, CaseIterable, Sendable {
    /// Standard dropout: every step of every lane draws its own mask.
    case step
    /// Variational (locked) dropout: each lane keeps one mask for every step of a window.
    case window
}

/// The regularizers of a training step beyond the model's `dropout`, each off at 0.
///
/// Every mask is drawn once per window from the step's seeded generator, before any shard runs,
/// so the masks are the same for any thread count and a resumed run draws the masks the
/// uninterrupted one would (the generator's state is in the training state). A mask is drawn per
/// lane per window rather than per lane until its next reset: a window (64 steps by default) is
/// far shorter than most documents, so the masks are as long-lived in practice, and nothing about
/// them needs to be saved between windows.
public struct Regularization: Equatable, Sendable {
    /// How the masks of `dropout` (between layers and before the decoder) are drawn.
    public var dropoutMasks: DropoutMasks
    /// Locked dropout on the first LSTM layer's input: one mask of E per lane per window.
    public var inputDropout: Float
    /// DropConnect on each layer's `W_hh` (AWD-LSTM): one mask of the whole matrix per window, shared by all lanes.
    public var weightDrop: Float
    /// Embedding dropout: whole rows of the embedding table (characters) dropped per window, the rest rescaled.
    public var embeddingDropout: Float

    public init(dropoutMasks: DropoutMasks = .step, inputDropout: Float = 0, weightDrop: Float = 0, embeddingDropout: Float = 0) {
        self.dropoutMasks = dropoutMasks
        self.inputDropout = inputDropout
        self.weightDrop = weightDrop
        self.embeddingDropout = embeddingDropout
    }

    /// No regularizer beyond the model's step dropout: the engine's arithmetic of before.
    public static let none = Regularization()
}

/// The masks of one window that are not per layer output: drawn by `TrainingStep`, read by `ModelLayers`.
struct WindowMasks {
    /// - rows: [V], 0 or 1/(1-p) per embedding row; nil without embedding dropout.
    var rows: UnsafePointer<Float>?
    /// - lanes: [lanes, E] of the shard, 0 or 1/(1-p); nil without input dropout.
    var lanes: UnsafePointer<Float>?
}
