/// Text from files, names and arguments made safe to show on a terminal.
///
/// A model file's metadata, a file name or an argument may hold control characters: an escape
/// sequence that clears the screen, a carriage return that overwrites a line, a line break that
/// fakes one. Before such text is shown it passes through `escaping(_:keepLineBreaks:)`.
public enum SafeText {
    /// `text` with every character that could steer a terminal written out as an escape.
    ///
    /// - Raw bytes of a path (see `SystemPath`) become `\xFF`.
    /// - C0 controls and DEL become `\n`, `\r`, `\t` or `\x1B`; line breaks and tabs are kept
    ///   when `keepLineBreaks` is true (for messages of several lines).
    /// - C1 controls (U+0080...U+009F) and the invisible direction and joiner controls (such as
    ///   U+202E, which reverses the text after it) become `\u{9B}`.
    public static func escaping(_ text: String, keepLineBreaks: Bool) -> String {
        replacing(text, keepLineBreaks: keepLineBreaks) { scalar in
            let v = scalar.value
            switch v {
            case 0x0A: return "\\n"
            case 0x0D: return "\\r"
            case 0x09: return "\\t"
            case 0..<0x20, 0x7F: return "\\x" + hex(v, digits: 2)
            case SystemPath.escapeRange: return "\\x" + hex(v - SystemPath.escapeBase, digits: 2)
            default: return "\\u{" + hex(v, digits: 1) + "}"
            }
        }
    }

    /// JSON text with every character that could steer a terminal written as a `\u` escape.
    ///
    /// JSON writers escape C0 controls but pass C1 controls, DEL and direction overrides through
    /// as they are; inside a JSON string a `\u` escape stands for the same character, so the
    /// document means the same.
    public static func escapingJSON(_ json: String) -> String {
        replacing(json, keepLineBreaks: true) { scalar in
            String(scalar).utf16.map { "\\u" + hex(UInt32($0), digits: 4).lowercased() }.joined()
        }
    }

    /// `text` with each scalar that needs escaping replaced by `escape(scalar)`.
    private static func replacing(_ text: String, keepLineBreaks: Bool, _ escape: (Unicode.Scalar) -> String) -> String {
        guard text.unicodeScalars.contains(where: { needsEscape($0, keepLineBreaks: keepLineBreaks) }) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            if needsEscape(scalar, keepLineBreaks: keepLineBreaks) {
                out += escape(scalar)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Whether a scalar must be escaped before it is shown.
    static func needsEscape(_ scalar: Unicode.Scalar, keepLineBreaks: Bool) -> Bool {
        let v = scalar.value
        if v == 0x0A || v == 0x09 { return !keepLineBreaks }
        if v < 0x20 || (0x7F...0x9F).contains(v) { return true }
        if SystemPath.escapeRange.contains(v) { return true }
        // Direction marks, embeddings, overrides and isolates; line and paragraph separators.
        return v == 0x200E || v == 0x200F || (0x2028...0x202E).contains(v) || (0x2066...0x2069).contains(v)
    }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
