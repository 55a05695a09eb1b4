import CUTF8Proc

/// Normalizes Unicode text under `TextOptions` with utf8proc, reusing its buffers between calls.
///
/// Runs of ASCII pass straight through (folded to lower case under case folding) whenever they
/// cannot interact with what follows: an ASCII character followed by another ASCII character,
/// or ending the text, has no decomposition, is a starter, and is never the second half of a
/// canonical composition. Everything else goes through utf8proc in segments that end just before
/// an ASCII byte. This is the only file that calls utf8proc.
public final class Normalizer {
    /// The options this normalizer applies.
    public let options: TextOptions
    private let flags: utf8proc_option_t
    private let caseFold: Bool
    /// utf8proc's output: [capacity] scalars.
    private var scratch: UnsafeMutablePointer<Int32>
    private var scratchCapacity: Int
    /// ASCII bytes widened to scalar values before they are appended: [asciiCapacity].
    private let ascii: UnsafeMutablePointer<Int32>
    private let asciiCapacity = 1 << 16
    /// UTF-8 bytes of scalar input, reused by `normalize(scalars:)`.
    private var utf8: [UInt8] = []

    /// A normalizer for one set of text options.
    public init(options: TextOptions) {
        self.options = options
        self.caseFold = options.caseFold
        var raw = UTF8PROC_STABLE.rawValue
        switch options.form {
        case .nfc: raw |= UTF8PROC_COMPOSE.rawValue
        case .nfd: raw |= UTF8PROC_DECOMPOSE.rawValue
        case .nfkc: raw |= UTF8PROC_COMPOSE.rawValue | UTF8PROC_COMPAT.rawValue
        case .nfkd: raw |= UTF8PROC_DECOMPOSE.rawValue | UTF8PROC_COMPAT.rawValue
        }
        if options.caseFold { raw |= UTF8PROC_CASEFOLD.rawValue }
        flags = utf8proc_option_t(rawValue: raw)
        scratchCapacity = 1024
        scratch = .allocate(capacity: scratchCapacity)
        ascii = .allocate(capacity: asciiCapacity)
    }

    deinit {
        scratch.deallocate()
        ascii.deallocate()
    }

    /// The normalized scalars of a string (a prompt or a short text).
    public func normalize(_ text: String) throws -> [Unicode.Scalar] {
        var out: [Int32] = []
        let bytes = Array(text.utf8)
        try bytes.withUnsafeBufferPointer { buffer in
            try appendNormalized(buffer, file: "the text", baseOffset: 0, into: &out)
        }
        return out.map { Unicode.Scalar(UInt32($0))! }
    }

    /// The normalized form of a sequence of scalars, as one piece of text.
    public func normalize<S: Sequence>(scalars: S) throws -> [Unicode.Scalar] where S.Element == Unicode.Scalar {
        utf8.removeAll(keepingCapacity: true)
        for s in scalars { utf8.append(contentsOf: UTF8.encode(s)!) }
        var out: [Int32] = []
        try utf8.withUnsafeBufferPointer { buffer in
            try appendNormalized(buffer, file: "the text", baseOffset: 0, into: &out)
        }
        return out.map { Unicode.Scalar(UInt32($0))! }
    }

    /// Appends the normalized scalar values of UTF-8 bytes to `out`, checking the bytes are strict UTF-8.
    ///
    /// The end of `bytes` must be a place where normalization cannot reach across: the end of a
    /// document, or a point just before an ASCII byte.
    /// - Parameters:
    ///   - bytes: UTF-8 text.
    ///   - file: the file named in errors.
    ///   - baseOffset: the file offset of `bytes[0]`, for errors.
    ///   - out: receives one scalar value per normalized character.
    /// - Throws: `TokenizerError.invalidUTF8` or `.normalizationFailed`.
    func appendNormalized(_ bytes: UnsafeBufferPointer<UInt8>, file: @autoclosure () -> String, baseOffset: Int,
                          into out: inout [Int32]) throws {
        let n = bytes.count
        guard n > 0, let p = bytes.baseAddress else { return }
        var i = 0
        while i < n {
            // A run of ASCII bytes [i, j), eight at a time while it lasts.
            var j = i
            while j + 8 <= n && UnsafeRawPointer(p + j).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 == 0 { j += 8 }
            while j < n && p[j] < 0x80 { j += 1 }
            // Fast path: ASCII characters that nothing after them can touch. The last one of a run
            // followed by non-ASCII bytes may compose with them, so it starts the next segment.
            let passEnd = j < n ? max(i, j - 1) : j
            if passEnd > i { appendASCII(p + i, count: passEnd - i, into: &out) }
            if j == n { break }
            // A segment: possibly one ASCII starter, then non-ASCII bytes up to the next ASCII byte.
            let start = passEnd
            var k = j + 1
            while k < n && p[k] >= 0x80 { k += 1 }
            let segment = UnsafeBufferPointer(start: p + start, count: k - start)
            if let failure = StrictUTF8.firstFailure(in: segment) {
                throw TokenizerError.invalidUTF8(file: file(), offset: baseOffset + start + failure.index, bytes: failure.bytes)
            }
            try normalizeSegment(segment, into: &out)
            i = k
        }
    }

    /// Appends ASCII bytes as scalar values, folded to lower case under case folding.
    private func appendASCII(_ p: UnsafePointer<UInt8>, count: Int, into out: inout [Int32]) {
        var done = 0
        while done < count {
            let m = min(count - done, asciiCapacity)
            let q = p + done
            if caseFold {
                for t in 0..<m {
                    let b = q[t]
                    ascii[t] = Int32(b) &+ ((b &- 0x41) < 26 ? 32 : 0)
                }
            } else {
                for t in 0..<m { ascii[t] = Int32(q[t]) }
            }
            out.append(contentsOf: UnsafeBufferPointer(start: ascii, count: m))
            done += m
        }
    }

    /// Runs utf8proc over one valid UTF-8 segment and appends the result.
    private func normalizeSegment(_ segment: UnsafeBufferPointer<UInt8>, into out: inout [Int32]) throws {
        var count: Int
        while true {
            count = utf8proc_decompose_custom(segment.baseAddress, segment.count, scratch, scratchCapacity, flags, nil, nil)
            if count < 0 { throw Self.error(count) }
            if count <= scratchCapacity { break }
            scratch.deallocate()
            scratchCapacity = max(count, scratchCapacity * 2)
            scratch = .allocate(capacity: scratchCapacity)
        }
        if options.form == .nfc || options.form == .nfkc {
            count = utf8proc_normalize_utf32(scratch, count, flags)
            if count < 0 { throw Self.error(count) }
        }
        out.append(contentsOf: UnsafeBufferPointer(start: scratch, count: count))
    }

    private static func error(_ code: Int) -> TokenizerError {
        let message = utf8proc_errmsg(code).map { String(cString: $0) } ?? "unknown error"
        return .normalizationFailed(code: code, message: message)
    }
}
