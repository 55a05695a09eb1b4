/// Collects the normalized scalar values of documents as they arrive in pieces, with a marker before each document.
///
/// Pieces are normalized as soon as they can be: everything up to the last ASCII byte seen
/// (nothing composes with or reorders across an ASCII character), so only a short tail waits
/// for the next piece.
final class DocumentStream {
    /// The value standing for `[DOC]` among scalar values (one past the last code point).
    static let documentMarker: Int32 = 0x11_0000

    let normalizer: Normalizer
    /// Scalar values and document markers: [count].
    var values: [Int32] = []
    /// Number of documents kept so far.
    private(set) var documentCount = 0
    /// Index in `values` of the open document's marker, or nil when no document is open.
    private var openMarker: Int?
    /// Bytes of the open document not yet normalized.
    private var pending: [UInt8] = []
    private var pendingOffset = 0
    /// The file named in errors.
    var file = ""
    /// Whether the splitter may discard an open document that holds characters (separator splitting
    /// drops documents of line breaks alone); while it may, `drain` holds the open document back.
    var splitterMayDiscard = false
    /// Set by the splitter once it will keep the open document.
    var openDocumentConfirmed = false
    /// Whether `drain` has handed out the open document's first values, so it can no longer be dropped.
    private var openDocumentDrained = false

    init(options: TextOptions, reservingCapacity capacity: Int) {
        normalizer = Normalizer(options: options)
        values.reserveCapacity(capacity)
    }

    /// Adds bytes of the open document (opening one if needed); `offset` is the file offset of `bytes[0]`.
    func append(_ bytes: UnsafeBufferPointer<UInt8>, offset: Int) throws {
        if openMarker == nil {
            openMarker = values.count
            values.append(Self.documentMarker)
        }
        let n = bytes.count
        guard n > 0 else { return }
        var start = 0
        if !pending.isEmpty {
            // The pending tail may be completed by bytes up to the first ASCII byte.
            var k = 0
            while k < n && bytes[k] >= 0x80 { k += 1 }
            pending.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[0..<k]))
            if k == n { return }
            try flushPending()
            start = k
        }
        var last = n - 1
        while last > start && bytes[last] >= 0x80 { last -= 1 }
        if bytes[last] < 0x80 {
            try normalize(UnsafeBufferPointer(rebasing: bytes[start..<last]), offset: offset + start)
        } else {
            last = start  // no ASCII byte at all: everything waits
        }
        pendingOffset = offset + last
        pending.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[last...]))
    }

    /// Closes the open document, dropping it when `discard` is true or it holds no character.
    func endDocument(discard: Bool = false) throws {
        guard let marker = openMarker else { return }
        try flushPending()
        openMarker = nil
        openDocumentConfirmed = false
        if openDocumentDrained {
            precondition(!discard, "a document handed out by drain cannot be discarded")
            openDocumentDrained = false
            documentCount += 1
        } else if discard || values.count == marker + 1 {
            values.removeSubrange(marker...)
        } else {
            documentCount += 1
        }
    }

    /// Appends the final `[DOC]` marker, so the last document's end is a target.
    func finish() {
        precondition(openMarker == nil, "a document is still open")
        values.append(Self.documentMarker)
    }

    /// Hands `body` the values that nothing read later can change or remove, then forgets them.
    ///
    /// Called after each piece, it keeps memory near the size of one piece however long the corpus
    /// is: what stays is the unnormalized tail and an open document that might still be dropped.
    func drain(_ body: (UnsafeBufferPointer<Int32>) throws -> Void) rethrows {
        var end = values.count
        if let marker = openMarker, !openDocumentDrained {
            if (!splitterMayDiscard || openDocumentConfirmed) && values.count > marker + 1 {
                openDocumentDrained = true
            } else {
                end = marker
            }
        }
        guard end > 0 else { return }
        try values.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[..<end])) }
        values.removeSubrange(..<end)
        if let marker = openMarker, !openDocumentDrained { openMarker = marker - end }
    }

    /// Hands over the values, leaving the stream empty, so the caller holds the only copy.
    func takeValues() -> [Int32] {
        defer { values = [] }
        return values
    }

    private func flushPending() throws {
        guard !pending.isEmpty else { return }
        try pending.withUnsafeBufferPointer { try normalize($0, offset: pendingOffset) }
        pending.removeAll(keepingCapacity: true)
    }

    private func normalize(_ bytes: UnsafeBufferPointer<UInt8>, offset: Int) throws {
        try normalizer.appendNormalized(bytes, file: self.file, baseOffset: offset, into: &values)
    }
}
