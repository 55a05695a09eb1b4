/// One named tensor inside a `ParameterLayout`: where it sits in the flat buffer and its shape.
public struct TensorSlot: Equatable, Hashable, Sendable {
    /// The PyTorch state-dict name, such as `lstm.weight_ih_l0`.
    public var name: String
    /// Row-major shape, as PyTorch reports it.
    public var shape: [Int]
    /// Offset of the first element in the flat buffer, in elements.
    public var offset: Int
    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
}

/// The order, names and shapes of every parameter of a model, laid out in one flat buffer.
///
/// The order is the one of DESIGN.md: `embedding.weight`, then for each layer k
/// `lstm.weight_ih_l{k}`, `lstm.weight_hh_l{k}`, `lstm.bias_ih_l{k}`, `lstm.bias_hh_l{k}`,
/// then `decoder.weight`, `decoder.bias`.
public struct ParameterLayout: Equatable, Sendable {
    public let configuration: ModelConfiguration
    public let slots: [TensorSlot]
    /// Total number of scalars.
    public let count: Int

    public init(_ configuration: ModelConfiguration) {
        let c = configuration
        var slots: [TensorSlot] = []
        var offset = 0
        func add(_ name: String, _ shape: [Int]) {
            let slot = TensorSlot(name: name, shape: shape, offset: offset)
            slots.append(slot)
            offset += slot.count
        }
        add("embedding.weight", [c.vocabularySize, c.embeddingSize])
        for k in 0..<c.layers {
            add("lstm.weight_ih_l\(k)", [4 * c.hiddenSize, c.inputSize(ofLayer: k)])
            add("lstm.weight_hh_l\(k)", [4 * c.hiddenSize, c.hiddenSize])
            add("lstm.bias_ih_l\(k)", [4 * c.hiddenSize])
            add("lstm.bias_hh_l\(k)", [4 * c.hiddenSize])
        }
        add("decoder.weight", [c.vocabularySize, c.hiddenSize])
        add("decoder.bias", [c.vocabularySize])
        self.configuration = configuration
        self.slots = slots
        self.count = offset
    }

    /// The slot with this name, if the layout has one.
    public func slot(named name: String) -> TensorSlot? {
        slots.first { $0.name == name }
    }

    @inlinable public var embeddingIndex: Int { 0 }
    /// Index in `slots` of `lstm.weight_ih_l{layer}`; the next three slots are `weight_hh`, `bias_ih`, `bias_hh`.
    @inlinable public func layerIndex(_ layer: Int) -> Int { 1 + 4 * layer }
    @inlinable public var decoderWeightIndex: Int { 1 + 4 * configuration.layers }
    @inlinable public var decoderBiasIndex: Int { 2 + 4 * configuration.layers }
}

/// A flat, 64-byte aligned buffer of `Float` holding every tensor of a `ParameterLayout`.
///
/// Weights, gradients and Adam moments are each one `ParameterBuffer`, so the optimizer,
/// clipping, zeroing and file I/O are single loops over `pointer[0..<count]`.
public final class ParameterBuffer: @unchecked Sendable {
    public let layout: ParameterLayout
    /// Base address of `layout.count` floats.
    public let pointer: UnsafeMutablePointer<Float>
    public var count: Int { layout.count }

    /// A buffer of zeros.
    public init(layout: ParameterLayout) {
        self.layout = layout
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(layout.count, 1) * MemoryLayout<Float>.stride, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(layout.count, 1))
        pointer.initialize(repeating: 0, count: max(layout.count, 1))
    }

    deinit { pointer.deallocate() }

    /// A copy with its own storage.
    public func copy() -> ParameterBuffer {
        let other = ParameterBuffer(layout: layout)
        other.pointer.update(from: pointer, count: count)
        return other
    }

    /// Pointer to the first element of a tensor.
    @inlinable
    public func view(_ slot: TensorSlot) -> UnsafeMutablePointer<Float> {
        pointer + slot.offset
    }

    /// Pointer to the first element of the tensor at `index` in `layout.slots`.
    @inlinable
    public func view(at index: Int) -> UnsafeMutablePointer<Float> {
        pointer + layout.slots[index].offset
    }

    /// The elements as a buffer pointer (no copy).
    public var elements: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: pointer, count: count)
    }

    /// Sets every element to zero.
    public func zero() {
        pointer.update(repeating: 0, count: count)
    }

    /// Whether every element is finite.
    public func allFinite() -> Bool {
        var bad = false
        for i in 0..<count where !pointer[i].isFinite { bad = true; break }
        return !bad
    }
}
