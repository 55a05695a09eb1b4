import Foundation
import _QuillKernels

/// The CRC-32C checksum that Quill writes into every tensor file it saves and checks on reading.
///
/// The checksum covers the `__metadata__` entries other than itself (each key and value in byte
/// order of the keys, every string followed by a zero byte) and then the whole data region, so a
/// changed byte in the tensors, the settings or the training step is caught. It is stored as
/// 8 lowercase hexadecimal digits under `data_crc32c`. A file without that entry (written by
/// PyTorch, NumPy or an older Quill) is read as before; only a checksum present and wrong is refused.
public enum DataChecksum {
    /// The metadata key of the checksum.
    public static let metadataKey = "data_crc32c"

    /// Continues a CRC-32C over `bytes`; start from 0.
    public static func crc32c(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        return quill_crc32c(crc, base, bytes.count)
    }


    /// The checksum of `metadata` (its own entry left out) followed by `data`.
    static func checksum(metadata: [String: String], data: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0
        let keys = metadata.keys.filter { $0 != metadataKey }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var canonical: [UInt8] = []
        for key in keys {
            canonical += Array(key.utf8) + [0] + Array(metadata[key]!.utf8) + [0]
        }
        crc = canonical.withUnsafeBytes { crc32c($0, continuing: crc) }
        return crc32c(data, continuing: crc)
    }

    /// `0123abcd`: the checksum as stored.
    static func text(_ crc: UInt32) -> String { CRC32C.hexDigits(crc) }
}
