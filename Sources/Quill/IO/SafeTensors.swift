import Foundation

/// An element type of a safetensors tensor, spelled as in the file (`F32`, `I64`, ...).
public enum SafeTensorsDType: String, CaseIterable, Sendable {
    case bool = "BOOL"
    case u8 = "U8", i8 = "I8"
    case f8e5m2 = "F8_E5M2", f8e4m3 = "F8_E4M3"
    case i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16"
    case i32 = "I32", u32 = "U32", f32 = "F32"
    case f64 = "F64", i64 = "I64", u64 = "U64"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .bool, .u8, .i8, .f8e5m2, .f8e4m3: return 1
        case .i16, .u16, .f16, .bf16: return 2
        case .i32, .u32, .f32: return 4
        case .f64, .i64, .u64: return 8
        }
    }
}

/// One tensor described by a safetensors header, validated against the file it came from.
public struct SafeTensorsEntry: Equatable, Sendable {
    /// The tensor's name (the header key).
    public var name: String
    public var dtype: SafeTensorsDType
    /// Row-major shape; `[]` is a scalar of one element.
    public var shape: [Int]
    /// Byte range relative to the start of the data region (the byte after the header).
    public var dataOffsets: Range<Int>

    /// Number of elements (the product of `shape`).
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A tensor to be written: name, type, shape and little-endian bytes.
public struct SafeTensorsTensor {
    enum Storage {
        case bytes(Data)
        case floats(UnsafeBufferPointer<Float>)
    }

    public let name: String
    public let dtype: SafeTensorsDType
    public let shape: [Int]
    let storage: Storage

    /// A tensor from raw little-endian bytes; `bytes.count` must equal `dtype.size` times the element count.
    public init(name: String, dtype: SafeTensorsDType, shape: [Int], bytes: Data) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        precondition(bytes.count == shape.reduce(1, *) * dtype.size,
                     "tensor \(name): \(bytes.count) bytes do not hold \(shape) of \(dtype.rawValue)")
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.storage = .bytes(bytes)
    }

    /// An `F32` tensor read from `floats` without copying; the memory must stay valid until the tensors are encoded.
    public init(name: String, shape: [Int], floats: UnsafeBufferPointer<Float>) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        precondition(floats.count == shape.reduce(1, *), "tensor \(name): \(floats.count) floats do not fill \(shape)")
        self.name = name
        self.dtype = .f32
        self.shape = shape
        self.storage = .floats(floats)
    }

    /// Number of data bytes.
    public var byteCount: Int { shape.reduce(1, *) * dtype.size }

    /// An integer tensor from values, stored little-endian.
    public static func integers<T: FixedWidthInteger>(name: String, dtype: SafeTensorsDType, shape: [Int], values: [T]) -> SafeTensorsTensor {
        precondition(MemoryLayout<T>.size == dtype.size, "\(T.self) does not match \(dtype.rawValue)")
        var data = Data(capacity: values.count * dtype.size)
        for v in values { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
        return SafeTensorsTensor(name: name, dtype: dtype, shape: shape, bytes: data)
    }
}

/// Reading and writing files in the safetensors format.
///
/// Layout: 8 bytes little-endian `UInt64` N, then N bytes of UTF-8 JSON (an object from
/// tensor name to `{"dtype", "shape", "data_offsets": [begin, end]}` plus an optional
/// `"__metadata__"` object of strings), padded with spaces, then the data region. The
/// tensors tile the data region in offset order with no gap and no overlap, as the reference
/// implementation (huggingface/safetensors) requires.
public enum SafeTensors {
    /// Largest header accepted, in bytes; the reference reader's limit.
    public static let maximumHeaderLength = 100_000_000
    /// The header key that holds string metadata.
    public static let metadataKey = "__metadata__"

    /// The file bytes for `tensors` (data in the order given) and `metadata`.
    ///
    /// The output is deterministic: the header lists `__metadata__` first with its keys in
    /// byte order, then the tensors in the order given, compact, padded with spaces so that
    /// the data starts at a multiple of 8 bytes. Names must be distinct and not `__metadata__`.
    /// With `checksum`, the metadata also holds the file's `DataChecksum`, which readers verify.
    public static func encode(_ tensors: [SafeTensorsTensor], metadata: [String: String] = [:], checksum: Bool = false) -> Data {
        guard checksum else { return encodeUnchecked(tensors, metadata: metadata) }
        // Encode with a placeholder of the checksum's width, then write the checksum over it.
        var metadata = metadata
        let placeholder = "00000000"
        metadata[DataChecksum.metadataKey] = placeholder
        var data = encodeUnchecked(tensors, metadata: metadata)
        let headerLength = data.withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        let entry = Array((JSONText.quoted(DataChecksum.metadataKey) + ":" + JSONText.quoted(placeholder)).utf8)
        data.withUnsafeMutableBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            let header = UnsafeBufferPointer(rebasing: bytes[8..<(8 + headerLength)])
            let crc = DataChecksum.checksum(metadata: metadata, data: UnsafeRawBufferPointer(rebasing: raw[(8 + headerLength)...]))
            var i = 0
            while i + entry.count <= header.count, !header[i..<(i + entry.count)].elementsEqual(entry) { i += 1 }
            precondition(i + entry.count <= header.count, "the checksum entry is missing from the header")
            let digits = Array(DataChecksum.text(crc).utf8)
            for (k, digit) in digits.enumerated() { bytes[8 + i + entry.count - 1 - digits.count + k] = digit }
        }
        return data
    }

    /// `encode` without a checksum entry.
    private static func encodeUnchecked(_ tensors: [SafeTensorsTensor], metadata: [String: String]) -> Data {
        let header = headerBytes(tensors, metadata: metadata)
        let total = tensors.reduce(8 + header.count) { $0 + $1.byteCount }
        var data = Data(count: total)
        data.withUnsafeMutableBytes { raw in
            var cursor = 0
            func put(_ bytes: UnsafeRawBufferPointer) {
                guard let source = bytes.baseAddress, !bytes.isEmpty else { return }  // an empty tensor has no address
                raw.baseAddress!.advanced(by: cursor).copyMemory(from: source, byteCount: bytes.count)
                cursor += bytes.count
            }
            withUnsafeBytes(of: UInt64(header.count).littleEndian) { put($0) }
            header.withUnsafeBytes { put($0) }
            for tensor in tensors where tensor.byteCount > 0 {
                switch tensor.storage {
                case let .bytes(bytes):
                    bytes.withUnsafeBytes { put($0) }
                case let .floats(floats):
                    #if _endian(little)
                    put(UnsafeRawBufferPointer(floats))
                    #else
                    for f in floats { withUnsafeBytes(of: f.bitPattern.littleEndian) { put($0) } }
                    #endif
                }
            }
            precondition(cursor == total)
        }
        return data
    }

    /// The padded JSON header for `tensors` and `metadata`.
    static func headerBytes(_ tensors: [SafeTensorsTensor], metadata: [String: String]) -> [UInt8] {
        var seen = Set<[UInt8]>()
        var parts: [String] = []
        if !metadata.isEmpty {
            let keys = metadata.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            let members = keys.map { JSONText.quoted($0) + ":" + JSONText.quoted(metadata[$0]!) }
            parts.append(JSONText.quoted(metadataKey) + ":{" + members.joined(separator: ",") + "}")
        }
        var offset = 0
        for tensor in tensors {
            precondition(!tensor.name.utf8.elementsEqual(metadataKey.utf8), "a tensor may not be named \(metadataKey)")
            precondition(seen.insert(Array(tensor.name.utf8)).inserted, "two tensors are named \(tensor.name)")
            let end = offset + tensor.byteCount
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            parts.append(JSONText.quoted(tensor.name)
                + ":{\"dtype\":\"\(tensor.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        var bytes = Array(("{" + parts.joined(separator: ",") + "}").utf8)
        while bytes.count % 8 != 0 { bytes.append(0x20) }
        return bytes
    }
}

/// A safetensors file held in memory whose header has been fully validated.
///
/// Every tensor's bytes lie inside the data region, the tensors tile it exactly, and each
/// byte count agrees with its dtype and shape, so reading any tensor afterwards cannot fail.
public struct SafeTensorsFile {
    /// The name used in error messages (usually the path).
    public let name: String
    /// The whole file.
    public let bytes: Data
    /// Offset of the data region in `bytes` (8 + header length).
    public let dataStart: Int
    /// Tensors in data order.
    public let tensors: [SafeTensorsEntry]
    /// The `__metadata__` entries; empty if the header has none.
    public let metadata: [String: String]
    /// Whether the header has a `__metadata__` object at all.
    public let hasMetadata: Bool

    /// Reads and validates the file at `url`.
    ///
    /// - Throws: `FileError` if it cannot be read, `SafeTensorsError` if it is not a valid safetensors file.
    public init(contentsOf url: URL) throws {
        try self.init(data: FileReader.read(url), name: url.path)
    }

    /// Validates `data` as a safetensors file called `name` in messages.
    ///
    /// - Throws: `SafeTensorsError` naming the first problem found.
    public init(data: Data, name: String) throws {
        self.name = name
        // Work on a zero-based copy so indices are plain offsets.
        let bytes = data.startIndex == 0 ? data : data.withUnsafeBytes { Data($0) }
        self.bytes = bytes
        let file = name
        guard bytes.count >= 8 else { throw SafeTensorsError.tooShort(file: file, length: bytes.count) }
        var declared: UInt64 = 0
        for k in 0..<8 { declared |= UInt64(bytes[k]) << (8 * UInt64(k)) }
        guard declared <= UInt64(SafeTensors.maximumHeaderLength) else {
            throw SafeTensorsError.headerTooLarge(file: file, declared: declared)
        }
        let headerLength = Int(declared)
        guard 8 + headerLength <= bytes.count else {
            throw SafeTensorsError.headerPastEnd(file: file, declared: headerLength, fileLength: bytes.count)
        }
        let header = bytes[8..<(8 + headerLength)]
        guard StrictJSON.isValidUTF8(header) else { throw SafeTensorsError.headerNotUTF8(file: file) }
        let json: JSONValue
        do {
            json = try StrictJSON.parse(header)
        } catch let error as JSONParseError {
            if error.reason.hasPrefix("duplicate key") {
                throw SafeTensorsError.duplicateKey(file: file, detail: error.reason)
            }
            throw SafeTensorsError.headerNotJSON(file: file, reason: error.reason, offset: 8 + error.offset)
        }
        guard case let .object(members) = json else { throw SafeTensorsError.headerNotObject(file: file, found: json.kindName) }

        var metadata: [String: String] = [:]
        var hasMetadata = false
        var entries: [(order: Int, entry: SafeTensorsEntry)] = []
        for (order, member) in members.enumerated() {
            if member.key.utf8.elementsEqual(SafeTensors.metadataKey.utf8) {
                hasMetadata = true
                guard case let .object(pairs) = member.value else {
                    throw SafeTensorsError.metadataNotStrings(file: file, key: nil, found: member.value.kindName)
                }
                for pair in pairs {
                    guard case let .string(value) = pair.value else {
                        throw SafeTensorsError.metadataNotStrings(file: file, key: pair.key, found: pair.value.kindName)
                    }
                    metadata[pair.key] = value
                }
                continue
            }
            entries.append((order, try Self.entry(named: member.key, from: member.value, file: file)))
        }

        // Tile check in offset order, as the reference reader does.
        entries.sort {
            ($0.entry.dataOffsets.lowerBound, $0.entry.dataOffsets.upperBound, $0.order)
                < ($1.entry.dataOffsets.lowerBound, $1.entry.dataOffsets.upperBound, $1.order)
        }
        let dataLength = bytes.count - 8 - headerLength
        var expected = 0
        var previous: String?
        for (_, entry) in entries {
            let range = entry.dataOffsets
            if range.lowerBound < expected {
                throw SafeTensorsError.overlappingTensors(file: file, tensor: entry.name, other: previous ?? "", begin: range.lowerBound, previousEnd: expected)
            }
            if range.lowerBound > expected {
                throw SafeTensorsError.gapBeforeTensor(file: file, tensor: entry.name, begin: range.lowerBound, previousEnd: expected)
            }
            if range.upperBound > dataLength {
                throw SafeTensorsError.tensorPastEnd(file: file, tensor: entry.name, end: range.upperBound, dataLength: dataLength)
            }
            expected = range.upperBound
            previous = entry.name
        }
        guard expected == dataLength else {
            throw SafeTensorsError.trailingData(file: file, tensorEnd: expected, dataLength: dataLength)
        }
        self.dataStart = 8 + headerLength
        self.tensors = entries.map(\.entry)
        self.metadata = metadata
        self.hasMetadata = hasMetadata
        try verifyChecksum()
    }

    /// Checks the file's `DataChecksum`, if it has one; a file without one passes.
    ///
    /// - Throws: `SafeTensorsError.checksumMismatch` when the stored checksum is malformed or disagrees with the bytes.
    private func verifyChecksum() throws {
        guard let stored = metadata[DataChecksum.metadataKey] else { return }
        let computed = bytes.withUnsafeBytes { raw in
            DataChecksum.checksum(metadata: metadata, data: UnsafeRawBufferPointer(rebasing: raw[dataStart...]))
        }
        guard stored == DataChecksum.text(computed) else {
            throw SafeTensorsError.checksumMismatch(file: name, stored: String(stored.prefix(16)), computed: DataChecksum.text(computed))
        }
    }

    /// Validates one header entry on its own (offsets are checked against each other later).
    private static func entry(named name: String, from value: JSONValue, file: String) throws -> SafeTensorsEntry {
        guard case let .object(fields) = value else {
            throw SafeTensorsError.entryNotObject(file: file, tensor: name, found: value.kindName)
        }
        func field(_ key: String) throws -> JSONValue {
            guard let found = fields.first(where: { $0.key.utf8.elementsEqual(key.utf8) }) else {
                throw SafeTensorsError.missingField(file: file, tensor: name, field: key)
            }
            return found.value
        }
        guard case let .string(dtypeName) = try field("dtype") else {
            throw SafeTensorsError.unknownDType(file: file, tensor: name, dtype: "\(try field("dtype").kindName)")
        }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            throw SafeTensorsError.unknownDType(file: file, tensor: name, dtype: dtypeName)
        }
        guard case let .array(dims) = try field("shape") else {
            throw SafeTensorsError.badShape(file: file, tensor: name, reason: "the shape is \(try field("shape").kindName), not an array")
        }
        var shape: [Int] = []
        var elements = 1
        var overflow = false
        for dim in dims {
            guard let n = dim.nonNegativeInteger else {
                let text: String
                if case let .number(lexeme) = dim { text = lexeme } else { text = dim.kindName }
                throw SafeTensorsError.badShape(file: file, tensor: name, reason: "the dimension \(text) is not a non-negative integer")
            }
            shape.append(n)
            let (product, o) = elements.multipliedReportingOverflow(by: n)
            overflow = overflow || o
            elements = product
        }
        let (byteCount, o2) = elements.multipliedReportingOverflow(by: dtype.size)
        if overflow || o2 {
            throw SafeTensorsError.badShape(file: file, tensor: name, reason: "the shape \(shape) is too large to address")
        }
        guard case let .array(offsets) = try field("data_offsets"), offsets.count == 2,
              let begin = offsets[0].nonNegativeInteger, let end = offsets[1].nonNegativeInteger else {
            throw SafeTensorsError.badOffsets(file: file, tensor: name, reason: "data_offsets is not a pair of non-negative integers")
        }
        guard begin <= end else {
            throw SafeTensorsError.badOffsets(file: file, tensor: name, reason: "data_offsets [\(begin), \(end)] ends before it begins")
        }
        guard end - begin == byteCount else {
            throw SafeTensorsError.sizeMismatch(file: file, tensor: name, dtype: dtype.rawValue, shape: shape, expected: byteCount, actual: end - begin)
        }
        return SafeTensorsEntry(name: name, dtype: dtype, shape: shape, dataOffsets: begin..<end)
    }

    /// The entry with this exact name (compared by Unicode scalars), if any.
    public func entry(named name: String) -> SafeTensorsEntry? {
        tensors.first { $0.name.utf8.elementsEqual(name.utf8) }
    }

    /// The raw bytes of a tensor.
    public func data(of entry: SafeTensorsEntry) -> Data {
        bytes[(dataStart + entry.dataOffsets.lowerBound)..<(dataStart + entry.dataOffsets.upperBound)]
    }

    /// Copies an `F32` tensor's elements into `destination`, which must hold `entry.elementCount` floats.
    public func copyFloats(of entry: SafeTensorsEntry, to destination: UnsafeMutablePointer<Float>) {
        precondition(entry.dtype == .f32, "tensor \(entry.name) is \(entry.dtype.rawValue), not F32")
        let start = dataStart + entry.dataOffsets.lowerBound
        let count = entry.elementCount
        guard count > 0 else { return }
        bytes.withUnsafeBytes { raw in
            #if _endian(little)
            UnsafeMutableRawPointer(destination).copyMemory(from: raw.baseAddress! + start, byteCount: count * 4)
            #else
            for i in 0..<count {
                let bits = raw.loadUnaligned(fromByteOffset: start + 4 * i, as: UInt32.self)
                destination[i] = Float(bitPattern: UInt32(littleEndian: bits))
            }
            #endif
        }
    }

    /// An `F32` tensor's elements as an array.
    public func floats(of entry: SafeTensorsEntry) -> [Float] {
        [Float](unsafeUninitializedCapacity: entry.elementCount) { buffer, count in
            if let base = buffer.baseAddress { copyFloats(of: entry, to: base) }
            count = entry.elementCount
        }
    }
}

/// A file that is not a valid safetensors file; each description names the file and the problem.
public enum SafeTensorsError: Error, Equatable, CustomStringConvertible {
    case tooShort(file: String, length: Int)
    case headerTooLarge(file: String, declared: UInt64)
    case headerPastEnd(file: String, declared: Int, fileLength: Int)
    case headerNotUTF8(file: String)
    case headerNotJSON(file: String, reason: String, offset: Int)
    case headerNotObject(file: String, found: String)
    case duplicateKey(file: String, detail: String)
    case entryNotObject(file: String, tensor: String, found: String)
    case missingField(file: String, tensor: String, field: String)
    case unknownDType(file: String, tensor: String, dtype: String)
    case badShape(file: String, tensor: String, reason: String)
    case badOffsets(file: String, tensor: String, reason: String)
    case sizeMismatch(file: String, tensor: String, dtype: String, shape: [Int], expected: Int, actual: Int)
    case overlappingTensors(file: String, tensor: String, other: String, begin: Int, previousEnd: Int)
    case gapBeforeTensor(file: String, tensor: String, begin: Int, previousEnd: Int)
    case tensorPastEnd(file: String, tensor: String, end: Int, dataLength: Int)
    case trailingData(file: String, tensorEnd: Int, dataLength: Int)
    /// `key` is nil when `__metadata__` itself is not an object.
    case metadataNotStrings(file: String, key: String?, found: String)
    /// The file's `data_crc32c` checksum disagrees with its bytes: it was changed after it was written.
    case checksumMismatch(file: String, stored: String, computed: String)

    public var description: String {
        let hint = "the file is damaged or was not written as safetensors; write it again"
        switch self {
        case let .tooShort(file, length):
            return "The file \(file) has only \(length) bytes, too few for a safetensors header; it is empty or truncated, so write it again."
        case let .headerTooLarge(file, declared):
            return "The file \(file) declares a \(declared)-byte header, larger than the \(SafeTensors.maximumHeaderLength)-byte limit; \(hint)."
        case let .headerPastEnd(file, declared, fileLength):
            return "The file \(file) declares a \(declared)-byte header but holds only \(fileLength) bytes; it is truncated or not safetensors, so write it again."
        case let .headerNotUTF8(file):
            return "The header of \(file) is not valid UTF-8; \(hint)."
        case let .headerNotJSON(file, reason, offset):
            return "The header of \(file) is not valid JSON (\(reason) at byte \(offset)); \(hint)."
        case let .headerNotObject(file, found):
            return "The header of \(file) is \(found), not a JSON object of tensors; \(hint)."
        case let .duplicateKey(file, detail):
            return "The header of \(file) has a \(detail), so it is ambiguous; \(hint)."
        case let .entryNotObject(file, tensor, found):
            return "The header entry for tensor \"\(tensor)\" in \(file) is \(found), not an object with dtype, shape and data_offsets; \(hint)."
        case let .missingField(file, tensor, field):
            return "The header entry for tensor \"\(tensor)\" in \(file) lacks \"\(field)\"; \(hint)."
        case let .unknownDType(file, tensor, dtype):
            return "Tensor \"\(tensor)\" in \(file) has the unknown dtype \(dtype); known dtypes are \(SafeTensorsDType.allCases.map(\.rawValue).joined(separator: ", "))."
        case let .badShape(file, tensor, reason):
            return "Tensor \"\(tensor)\" in \(file) has a bad shape: \(reason); \(hint)."
        case let .badOffsets(file, tensor, reason):
            return "Tensor \"\(tensor)\" in \(file) has bad offsets: \(reason); \(hint)."
        case let .sizeMismatch(file, tensor, dtype, shape, expected, actual):
            return "Tensor \"\(tensor)\" in \(file) spans \(actual) bytes but \(dtype) \(shape) needs \(expected); \(hint)."
        case let .overlappingTensors(file, tensor, other, begin, previousEnd):
            return "Tensor \"\(tensor)\" in \(file) begins at data byte \(begin), inside tensor \"\(other)\" which ends at \(previousEnd); \(hint)."
        case let .gapBeforeTensor(file, tensor, begin, previousEnd):
            return "Tensor \"\(tensor)\" in \(file) begins at data byte \(begin), leaving unused bytes from \(previousEnd); \(hint)."
        case let .tensorPastEnd(file, tensor, end, dataLength):
            return "Tensor \"\(tensor)\" in \(file) ends at data byte \(end) but the data region holds only \(dataLength) bytes; the file is truncated, so write it again."
        case let .trailingData(file, tensorEnd, dataLength):
            return "The tensors of \(file) end at data byte \(tensorEnd) but the data region holds \(dataLength) bytes; \(hint)."
        case let .metadataNotStrings(file, key, found):
            if let key {
                return "The metadata entry \"\(key)\" in \(file) is \(found), not a string; \(hint)."
            }
            return "The __metadata__ of \(file) is \(found), not an object of strings; \(hint)."
        case let .checksumMismatch(file, stored, computed):
            return "The file \(file) is damaged: its bytes do not match the checksum written with them (data_crc32c \(stored), computed \(computed)), so it changed after it was saved; use a backup copy or write it again."
        }
    }
}
