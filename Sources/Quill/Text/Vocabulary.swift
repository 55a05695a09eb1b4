/// Token ids of a model: `[DOC]` at id 0, then the distinct Unicode scalars of the training text in code-point order.
public struct Vocabulary: Equatable, Hashable, Sendable {
    /// Id of the document-boundary token.
    public static let documentID: Int32 = 0
    /// Printable name of the document-boundary token.
    public static let documentToken = "[DOC]"

    /// The scalars of ids 1..., in strictly increasing code-point order.
    public let scalars: [Unicode.Scalar]
    private let lookup: [UInt32: Int32]

    /// Number of ids, `[DOC]` included.
    public var count: Int { scalars.count + 1 }

    /// A vocabulary from a set of scalars (order and duplicates do not matter).
    public init<S: Sequence>(scalars: S) where S.Element == Unicode.Scalar {
        let sorted = Array(Set(scalars)).sorted { $0.value < $1.value }
        self.scalars = sorted
        var lookup: [UInt32: Int32] = [:]
        lookup.reserveCapacity(sorted.count)
        for (i, s) in sorted.enumerated() { lookup[s.value] = Int32(i + 1) }
        self.lookup = lookup
    }

    /// The id of a scalar, or nil if the vocabulary lacks it.
    @inlinable
    public func id(of scalar: Unicode.Scalar) -> Int32? { id(ofValue: scalar.value) }

    /// The id of a scalar value, or nil if the vocabulary lacks it.
    public func id(ofValue value: UInt32) -> Int32? { lookup[value] }

    /// The scalar of an id, or nil for `[DOC]` and ids out of range.
    public func scalar(of id: Int32) -> Unicode.Scalar? {
        guard id >= 1, Int(id) <= scalars.count else { return nil }
        return scalars[Int(id) - 1]
    }

    /// A readable name for an id: the character itself, `[DOC]`, or `U+000A`-style names for control and space characters.
    public func displayName(of id: Int32) -> String {
        guard let s = scalar(of: id) else { return id == Self.documentID ? Self.documentToken : "<\(id)?>" }
        return Self.displayName(of: s)
    }

    /// A readable name for a scalar: itself if visible, otherwise `U+XXXX` with a short name for common whitespace.
    public static func displayName(of s: Unicode.Scalar) -> String {
        let hex = "U+" + String(s.value, radix: 16, uppercase: true).leftPadded(to: 4)
        switch s.value {
        case 0x0A: return "\\n (\(hex))"
        case 0x09: return "\\t (\(hex))"
        case 0x0D: return "\\r (\(hex))"
        case 0x20: return "space (\(hex))"
        default: break
        }
        switch s.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .spaceSeparator, .surrogate, .unassigned, .privateUse,
             .nonspacingMark, .enclosingMark:
            return hex
        default:
            return String(s)
        }
    }
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
