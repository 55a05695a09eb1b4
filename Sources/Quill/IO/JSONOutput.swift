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
