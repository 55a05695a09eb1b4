/// CRC-32C (Castagnoli), the checksum of iSCSI, ext4 and Btrfs, computed incrementally over byte runs.
///
/// Reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF; the check value of the
/// ASCII bytes `123456789` is 0xE3069283. Eight bytes a step with eight tables (slicing-by-8).
public struct CRC32C: Sendable {
    /// The running register (before the final xor).
    private var register: UInt32 = 0xFFFF_FFFF

    public init() {}

    /// The checksum of the bytes fed so far.
    public var value: UInt32 { register ^ 0xFFFF_FFFF }

    /// The checksum as eight lower-case hex digits, as manifests write it.
    public var hexDigits: String {
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }

    /// Feeds more bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var p = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        var n = bytes.count
        var crc = register
        CRC32C.tables.withUnsafeBufferPointer { t in
            while n >= 8 {
                let low = UInt32(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt32.self)) ^ crc
                let high = UInt32(littleEndian: UnsafeRawPointer(p + 4).loadUnaligned(as: UInt32.self))
                crc = t[7 * 256 + Int(low & 0xFF)] ^ t[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((low >> 16) & 0xFF)] ^ t[4 * 256 + Int(low >> 24)]
                    ^ t[3 * 256 + Int(high & 0xFF)] ^ t[2 * 256 + Int((high >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((high >> 16) & 0xFF)] ^ t[Int(high >> 24)]
                p += 8
                n -= 8
            }
            while n > 0 {
                crc = t[Int((crc ^ UInt32(p.pointee)) & 0xFF)] ^ (crc >> 8)
                p += 1
                n -= 1
            }
        }
        register = crc
    }

    /// Feeds the bytes of an array.
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Table k maps a byte to the register change of that byte followed by k zero bytes: [8 * 256].
    private static let tables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            t[i] = c
        }
        for k in 1..<8 {
            for i in 0..<256 {
                let previous = t[(k - 1) * 256 + i]
                t[k * 256 + i] = t[Int(previous & 0xFF)] ^ (previous >> 8)
            }
        }
        return t
    }()
}
