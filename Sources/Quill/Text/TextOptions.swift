/// A Unicode normalization form, applied through utf8proc.
public enum NormalizationForm: String, CaseIterable, Sendable, Codable {
    case nfc, nfd, nfkc, nfkd

    /// The name as Unicode writes it: `NFC`, `NFD`, `NFKC`, `NFKD`.
    public var displayName: String { rawValue.uppercased() }
}

/// How text is turned into scalars before it becomes token ids; recorded in every model file.
public struct TextOptions: Equatable, Hashable, Sendable, Codable {
    /// Normalization form; NFC unless asked otherwise.
    public var form: NormalizationForm
    /// Whether text is case-folded (Unicode default case folding) after normalization.
    public var caseFold: Bool

    public init(form: NormalizationForm = .nfc, caseFold: Bool = false) {
        self.form = form
        self.caseFold = caseFold
    }

    /// Short form for metadata and messages, such as `NFC` or `NFKC+casefold`.
    public var summary: String { form.displayName + (caseFold ? "+casefold" : "") }
}
