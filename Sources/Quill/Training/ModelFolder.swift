import Foundation

/// The files of a model folder.
public struct ModelFolder: Sendable {
    public let url: URL
    public init(_ url: URL) { self.url = url }
    /// The model ready for sampling: the weights with the best validation loss so far.
    public var model: URL { url.appendingPathComponent("model.safetensors") }
    /// Everything needed to resume exactly: latest weights, Adam moments, positions, generator.
    public var state: URL { url.appendingPathComponent("training-state.safetensors") }
    /// One JSON object per logged step.
    public var metrics: URL { url.appendingPathComponent("metrics.jsonl") }
}
