/// A token stream that training reads in windows, held in memory or read from prepared shards as needed.
///
/// The `Batcher` asks for each lane's next window, so a source need not hold the stream: a prepared
/// corpus reads the few tokens asked for from its shard files, and memory does not grow with the corpus.
/// A source that cannot fail (`ArrayTokenSource`) reads with `ReadError == Never`, so a `Batcher` over
/// it needs no `try`.
public protocol TokenSource: Sendable {
    /// What a failed read throws: `Never` for tokens in memory.
    associatedtype ReadError: Error = any Error

    /// Number of tokens in the stream.
    var count: Int { get }

    /// Copies tokens `start ..< start + buffer.count` of the stream into `buffer`.
    ///
    /// - Precondition: the range lies inside the stream.
    /// - Throws: an error with a sentence when the tokens cannot be read (a damaged or vanished file).
    func read(from start: Int, into buffer: UnsafeMutableBufferPointer<Int32>) throws(ReadError)
}

/// A token stream held in memory as one array; reading it cannot fail.
public struct ArrayTokenSource: TokenSource {
    public typealias ReadError = Never

    /// The stream.
    public let tokens: [Int32]

    public init(_ tokens: [Int32]) { self.tokens = tokens }

    public var count: Int { tokens.count }

    public func read(from start: Int, into buffer: UnsafeMutableBufferPointer<Int32>) {
        precondition(start >= 0 && start + buffer.count <= tokens.count, "ArrayTokenSource: range outside the stream")
        guard let destination = buffer.baseAddress, !buffer.isEmpty else { return }
        tokens.withUnsafeBufferPointer { destination.update(from: $0.baseAddress! + start, count: buffer.count) }
    }
}

/// The tokens `range` of another source, counted from 0.
public struct TokenSourceSlice<Base: TokenSource>: TokenSource {
    public typealias ReadError = Base.ReadError

    public let base: Base
    public let range: Range<Int>

    /// - Precondition: `range` lies inside `base`.
    public init(_ base: Base, range: Range<Int>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= base.count, "TokenSourceSlice: range outside the stream")
        self.base = base
        self.range = range
    }

    public var count: Int { range.count }

    public func read(from start: Int, into buffer: UnsafeMutableBufferPointer<Int32>) throws(ReadError) {
        precondition(start >= 0 && start + buffer.count <= range.count, "TokenSourceSlice: range outside the slice")
        try base.read(from: range.lowerBound + start, into: buffer)
    }
}

/// Any token source behind one type, so a trainer holds one kind of `Batcher` whatever its data.
public struct AnyTokenSource: TokenSource {
    public typealias ReadError = any Error

    public let base: any TokenSource

    public init(_ base: any TokenSource) {
        self.base = (base as? AnyTokenSource)?.base ?? base
    }

    public var count: Int { base.count }

    public func read(from start: Int, into buffer: UnsafeMutableBufferPointer<Int32>) throws {
        try base.read(from: start, into: buffer)
    }
}
