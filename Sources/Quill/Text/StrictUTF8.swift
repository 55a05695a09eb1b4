/// A strict UTF-8 check: rejects overlong forms, surrogates, values above U+10FFFF and truncated sequences.
enum StrictUTF8 {
    /// A place where bytes stop being valid UTF-8.
    struct Failure: Equatable {
        /// Index of the first byte of the bad sequence.
        var index: Int
        /// The offending bytes: the lead byte and the continuation bytes read up to the one that failed.
        var bytes: [UInt8]
    }

    /// The first invalid sequence in `bytes`, or nil if they are all valid UTF-8.
    ///
    /// A sequence cut short by the end of `bytes` is a failure: callers only pass complete text.
    @inline(__always)
    static func firstFailure(in bytes: UnsafeBufferPointer<UInt8>) -> Failure? {
        let n = bytes.count
        var i = 0
        while i < n {
            let lead = bytes[i]
            if lead < 0x80 { i += 1; continue }
            let need: Int
            var low: UInt8 = 0x80, high: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: need = 1
            case 0xE0: need = 2; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: need = 2
            case 0xED: need = 2; high = 0x9F
            case 0xF0: need = 3; low = 0x90
            case 0xF1...0xF3: need = 3
            case 0xF4: need = 3; high = 0x8F
            default: return Failure(index: i, bytes: [lead])
            }
            var k = 1
            while k <= need {
                guard i + k < n else { return Failure(index: i, bytes: Array(bytes[i..<n])) }
                let b = bytes[i + k]
                let ok = k == 1 ? (b >= low && b <= high) : (b & 0xC0 == 0x80)
                if !ok { return Failure(index: i, bytes: Array(bytes[i...(i + k)])) }
                k += 1
            }
            i += need + 1
        }
        return nil
    }
}
