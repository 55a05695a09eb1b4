/// The hidden and cell state of every LSTM layer for `batch` lanes (a class: engines update it in place).
///
/// - h: [layers, batch, H]
/// - c: [layers, batch, H]
public final class RecurrentState: @unchecked Sendable {
    public let layers: Int
    public let batch: Int
    public let hiddenSize: Int
    private let storage: FloatBuffer
    /// Hidden states, [layers, batch, H]; lane `b` of layer `k` starts at `(k * batch + b) * H`.
    public let h: UnsafeMutableBufferPointer<Float>
    /// Cell states, [layers, batch, H], laid out as `h`.
    public let c: UnsafeMutableBufferPointer<Float>

    /// A state of zeros.
    public init(configuration: ModelConfiguration, batch: Int) {
        precondition(batch >= 1, "batch must be positive")
        layers = configuration.layers
        self.batch = batch
        hiddenSize = configuration.hiddenSize
        let n = layers * batch * hiddenSize
        storage = FloatBuffer(count: 2 * n)
        h = UnsafeMutableBufferPointer(start: storage.pointer, count: n)
        c = UnsafeMutableBufferPointer(start: storage.pointer + n, count: n)
    }

    /// Number of floats in `h` (and in `c`).
    public var count: Int { h.count }

    /// Pointer to lane 0 of layer `layer`'s hidden state, [batch, H].
    @inlinable public func hidden(layer: Int) -> UnsafeMutablePointer<Float> {
        h.baseAddress! + layer * batch * hiddenSize
    }

    /// Pointer to lane 0 of layer `layer`'s cell state, [batch, H].
    @inlinable public func cell(layer: Int) -> UnsafeMutablePointer<Float> {
        c.baseAddress! + layer * batch * hiddenSize
    }

    /// Sets every lane of every layer to zero.
    public func zero() { storage.zero() }

    /// One lane's hidden and cell state of every layer, as values.
    public struct Lane: Equatable, Sendable {
        /// - hidden: [layers, H]
        public var hidden: [Float]
        /// - cell: [layers, H]
        public var cell: [Float]
    }

    /// A copy of lane `lane`'s state.
    public func lane(_ lane: Int) -> Lane {
        checkLane(lane)
        var value = Lane(hidden: [], cell: [])
        for k in 0..<layers {
            value.hidden += UnsafeBufferPointer(start: hidden(layer: k) + lane * hiddenSize, count: hiddenSize)
            value.cell += UnsafeBufferPointer(start: cell(layer: k) + lane * hiddenSize, count: hiddenSize)
        }
        return value
    }

    /// Sets lane `lane` to `value`, which must hold `layers * hiddenSize` values in each part.
    public func setLane(_ lane: Int, to value: Lane) {
        checkLane(lane)
        precondition(value.hidden.count == layers * hiddenSize && value.cell.count == layers * hiddenSize, "lane state size mismatch")
        for k in 0..<layers {
            value.hidden.withUnsafeBufferPointer {
                (hidden(layer: k) + lane * hiddenSize).update(from: $0.baseAddress! + k * hiddenSize, count: hiddenSize)
            }
            value.cell.withUnsafeBufferPointer {
                (cell(layer: k) + lane * hiddenSize).update(from: $0.baseAddress! + k * hiddenSize, count: hiddenSize)
            }
        }
    }

    /// Sets one lane of every layer to zero, as at a document boundary.
    public func zero(lane: Int) {
        checkLane(lane)
        for k in 0..<layers {
            (hidden(layer: k) + lane * hiddenSize).update(repeating: 0, count: hiddenSize)
            (cell(layer: k) + lane * hiddenSize).update(repeating: 0, count: hiddenSize)
        }
    }

    /// Moves lane `source`'s state to lane `destination` and zeroes `source` (nothing when they are equal).
    public func moveLane(_ source: Int, to destination: Int) {
        guard source != destination else { return checkLane(source) }
        copyLane(from: self, lane: source, into: destination)
        zero(lane: source)
    }

    /// An independent copy.
    public func copy() -> RecurrentState {
        let other = RecurrentState(layers: layers, batch: batch, hiddenSize: hiddenSize)
        other.storage.pointer.update(from: storage.pointer, count: storage.count)
        return other
    }

    /// Copies `other`'s values into this state; shapes must agree.
    public func assign(from other: RecurrentState) {
        precondition(other.layers == layers && other.batch == batch && other.hiddenSize == hiddenSize, "state shapes differ")
        storage.pointer.update(from: other.storage.pointer, count: storage.count)
    }

    /// Copies lane `lane` of `other` (every layer) into lane `destination` of this state.
    public func copyLane(from other: RecurrentState, lane: Int, into destination: Int = 0) {
        precondition(other.layers == layers && other.hiddenSize == hiddenSize, "state shapes differ")
        other.checkLane(lane)
        checkLane(destination)
        for k in 0..<layers {
            (hidden(layer: k) + destination * hiddenSize).update(from: other.hidden(layer: k) + lane * hiddenSize, count: hiddenSize)
            (cell(layer: k) + destination * hiddenSize).update(from: other.cell(layer: k) + lane * hiddenSize, count: hiddenSize)
        }
    }

    private func checkLane(_ lane: Int) {
        precondition(lane >= 0 && lane < batch, "lane out of range")
    }

    private init(layers: Int, batch: Int, hiddenSize: Int) {
        self.layers = layers
        self.batch = batch
        self.hiddenSize = hiddenSize
        let n = layers * batch * hiddenSize
        storage = FloatBuffer(count: 2 * n)
        h = UnsafeMutableBufferPointer(start: storage.pointer, count: n)
        c = UnsafeMutableBufferPointer(start: storage.pointer + n, count: n)
    }
}
