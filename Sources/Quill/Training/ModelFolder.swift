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
    /// The training curves, redrawn at each evaluation (see `LossPlot`).
    public var lossPlot: URL { url.appendingPathComponent("loss.svg") }

    /// The periodic snapshot of the weights at `step` (kept with `keepSnapshots`).
    public func snapshot(step: Int) -> URL { url.appendingPathComponent("\(Self.snapshotPrefix)\(step)\(Self.snapshotSuffix)") }
    static let snapshotPrefix = "model-step-"
    static let snapshotSuffix = ".safetensors"

    /// The steps of the snapshots in the folder, in increasing order.
    public func snapshotSteps() -> [Int] {
        let names = (try? FileSystem.entries(of: url.path)) ?? []
        return names.compactMap { name -> Int? in
            guard name.hasPrefix(Self.snapshotPrefix), name.hasSuffix(Self.snapshotSuffix) else { return nil }
            let digits = name.dropFirst(Self.snapshotPrefix.count).dropLast(Self.snapshotSuffix.count)
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            return Int(digits)
        }.sorted()
    }
}
