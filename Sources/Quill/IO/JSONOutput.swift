import Foundation

/// The one way Quill writes JSON: `Codable` values through one encoder setup, compact with sorted
/// keys, so every file and line it prints is deterministic.
public enum JSONOutput {
    /// A fresh encoder with Quill's setup.
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    /// `value` as one line of JSON text, without a line break.
    ///
    /// - Throws: `EncodingError` when a number is not finite (round with `decimal(_:_:)` first).
    public static func line<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encoder().encode(value), as: UTF8.self)
    }

    /// `x` rounded to `digits` decimals, so it prints as short as the figure it stands for.
    public static func decimal(_ x: Double, _ digits: Int) -> Double {
        let scale = pow(10, Double(digits))
        let scaled = (x * scale).rounded()
        return scaled.isFinite ? scaled / scale : x
    }
}

/// Writes JSON text whose member order is fixed by a format, as the safetensors header's is: compact,
/// members in the order given, strings escaped minimally. Everything else goes through `JSONOutput`.
enum JSONText {
    /// `text` as a JSON string literal: quotes, backslashes and control characters escaped, everything else as UTF-8.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x00..<0x20, 0x7F:
                out += "\\u" + String(scalar.value, radix: 16).leftPadded(to: 4)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// `values` as a JSON array of integers, such as `[10,32,97]`.
    static func integers<I: BinaryInteger>(_ values: [I]) -> String {
        "[" + values.map { "\($0)" }.joined(separator: ",") + "]"
    }
}
