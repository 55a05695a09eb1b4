import Foundation

/// A Quill language model: its configuration and its weights in one flat buffer.
///
/// `Embedding(V, E) -> L x LSTM(H) -> Dropout -> Linear(H, V)`, with the LSTM exactly
/// PyTorch's `nn.LSTM` (gates i, f, g, o). The layers' forward and backward are `Embedding`,
/// `LSTMLayer` and `DecoderLayer`; `TrainingStep` and `InferenceEngine` drive them over windows.
public final class LanguageModel: @unchecked Sendable {
    public let configuration: ModelConfiguration
    public let layout: ParameterLayout
    /// Every parameter, in `layout` order.
    public let weights: ParameterBuffer

    /// A model over these weights; the model takes ownership of the buffer.
    public init(weights: ParameterBuffer) {
        self.weights = weights
        self.layout = weights.layout
        self.configuration = weights.layout.configuration
    }

    /// A freshly initialized model, as PyTorch initializes the same modules.
    ///
    /// Every LSTM and decoder parameter is uniform in `(-1/sqrt(H), 1/sqrt(H))` (PyTorch's
    /// `nn.LSTM` rule; the decoder uses the same bound here, with `nn.Linear`'s `1/sqrt(fan_in)`
    /// equal to it since its fan-in is H). The embedding is standard normal `N(0, 1)`, as
    /// `nn.Embedding`, drawn with the Box-Muller transform and clamped to `[-6, 6]`.
    /// The same seed gives the same weights.
    public static func initialized(_ configuration: ModelConfiguration, random: inout QuillRandom) -> LanguageModel {
        let layout = ParameterLayout(configuration)
        let weights = ParameterBuffer(layout: layout)
        let bound = 1 / Float(configuration.hiddenSize).squareRoot()
        for (index, slot) in layout.slots.enumerated() {
            let p = weights.view(slot)
            if index == layout.embeddingIndex {
                var i = 0
                while i < slot.count {
                    // Box-Muller: two normals from two uniforms.
                    let u1 = 1 - random.nextUnitDouble()  // (0, 1]
                    let u2 = random.nextUnitDouble()
                    let radius = (-2 * Foundation.log(u1)).squareRoot()
                    let angle = 2 * Double.pi * u2
                    p[i] = Float(Swift.min(Swift.max(radius * Foundation.cos(angle), -6), 6))
                    if i + 1 < slot.count {
                        p[i + 1] = Float(Swift.min(Swift.max(radius * Foundation.sin(angle), -6), 6))
                    }
                    i += 2
                }
            } else {
                for i in 0..<slot.count {
                    p[i] = (2 * random.nextUnitFloat() - 1) * bound
                }
            }
        }
        return LanguageModel(weights: weights)
    }
}
