/// An owned, 64-byte aligned, zero-initialized array of `Float` used for workspaces.
///
/// Workspaces allocate these once; the hot loops only ever see `pointer`.
public final class FloatBuffer: @unchecked Sendable {
    /// Base address of `count` floats.
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int

    /// A buffer of `count` zeros.
    public init(count: Int) {
        precondition(count >= 0, "negative buffer size")
        self.count = count
        let capacity = max(count, 1)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: capacity * MemoryLayout<Float>.stride, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: capacity)
        pointer.initialize(repeating: 0, count: capacity)
    }

    deinit { pointer.deallocate() }

    /// Sets every element to zero.
    public func zero() { pointer.update(repeating: 0, count: count) }

    /// The elements as a buffer pointer (no copy).
    public var elements: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: pointer, count: count)
    }
}
