import _QuillKernels

/// CRC-32C (Castagnoli), the checksum of iSCSI, ext4 and Btrfs, computed incrementally over byte runs.
///
/// Reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF; the check value of the
/// ASCII bytes `123456789` is 0xE3069283. The arithmetic is `quill_crc32c` in the kernels (the
/// SSE4.2 instruction where the CPU has it, a table otherwise), shared with `DataChecksum`.
public struct CRC32C: Sendable {
    /// The checksum of the bytes fed so far.
    public private(set) var value: UInt32 = 0

    public init() {}

    /// The checksum as eight lower-case hex digits, as manifests and metadata write it.
    public var hexDigits: String { CRC32C.hexDigits(value) }

    /// Eight lower-case hex digits of a checksum.
    public static func hexDigits(_ value: UInt32) -> String {
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }

    /// Feeds more bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        value = quill_crc32c(value, base, bytes.count)
    }

    /// Feeds the bytes of an array.
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }
}
