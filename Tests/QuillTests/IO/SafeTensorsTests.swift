import Foundation
@testable import Quill
import XCTest

final class SafeTensorsTests: XCTestCase {
    typealias F = ModelFileFixtures

    // MARK: Writer

    /// The reference implementation's own test serializes one F32 [1,2,3] tensor named `attn.0`
    /// to a 64-byte header with no padding; ours must give the same bytes.
    func testSingleTensorFileMatchesReferenceLayout() throws {
        let values: [Float] = [0, 1, 2, 3, 4, 5]
        let data = SafeTensors.encode([SafeTensorsTensor(name: "attn.0", dtype: .f32, shape: [1, 2, 3], bytes: F.bytes(values))])
        let header = #"{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}"#
        XCTAssertEqual(header.utf8.count, 64)
        var expected = Data([64, 0, 0, 0, 0, 0, 0, 0])
        expected.append(contentsOf: Array(header.utf8))
        expected.append(F.bytes(values))
        XCTAssertEqual(data, expected)
        // 1.0 as little-endian F32 is 00 00 80 3F.
        XCTAssertEqual(Array(data[(8 + 64 + 4)..<(8 + 64 + 8)]), [0x00, 0x00, 0x80, 0x3F])
    }

    /// With no tensors and metadata {"framework": "pt"}, the reference pads the 35-byte header to 40 with spaces.
    func testMetadataOnlyFileIsPaddedWithSpacesToEightBytes() throws {
        let data = SafeTensors.encode([], metadata: ["framework": "pt"])
        let header = #"{"__metadata__":{"framework":"pt"}}"# + "     "
        var expected = Data([40, 0, 0, 0, 0, 0, 0, 0])
        expected.append(contentsOf: Array(header.utf8))
        XCTAssertEqual(data, expected)
        XCTAssertEqual(SafeTensors.encode([]), Data([8, 0, 0, 0, 0, 0, 0, 0]) + Data("{}      ".utf8))
        let file = try SafeTensorsFile(data: data, name: "meta.safetensors")
        XCTAssertEqual(file.metadata, ["framework": "pt"])
        XCTAssertTrue(file.tensors.isEmpty)
    }

    func testEveryIntegerAndFloatTypeRoundTripsAndFoundationReadsTheHeader() throws {
        let tensors: [SafeTensorsTensor] = [
            .integers(name: "u8", dtype: .u8, shape: [3], values: [UInt8(0), 7, 255]),
            .integers(name: "i32", dtype: .i32, shape: [2], values: [Int32.min, -1]),
            .integers(name: "i64", dtype: .i64, shape: [1, 2], values: [Int64.min, Int64.max]),
            .integers(name: "u64", dtype: .u64, shape: [], values: [UInt64.max - 1]),
            SafeTensorsTensor(name: "f32 \"odd\" name\u{7}é", dtype: .f32, shape: [2, 0, 5], bytes: Data()),
            SafeTensorsTensor(name: "f32", dtype: .f32, shape: [2], bytes: F.bytes([-0.0, .nan])),
        ]
        let metadata = ["k\u{1}": "v\"\\\n", "ünï": "ç😀"]
        let data = SafeTensors.encode(tensors, metadata: metadata)
        let file = try SafeTensorsFile(data: data, name: "all.safetensors")
        XCTAssertEqual(file.metadata, metadata)
        XCTAssertEqual(file.tensors.map(\.name), tensors.map(\.name))
        XCTAssertEqual(file.dataStart % 8, 0)
        for t in tensors {
            let entry = try XCTUnwrap(file.entry(named: t.name))
            XCTAssertEqual(entry.dtype, t.dtype)
            XCTAssertEqual(entry.shape, t.shape)
            guard case let .bytes(expected) = t.storage else { return XCTFail() }
            XCTAssertEqual(file.data(of: entry), expected)
        }
        XCTAssertEqual(file.floats(of: file.entry(named: "f32")!).map(\.bitPattern), [(-0.0 as Float).bitPattern, Float.nan.bitPattern])

        // Foundation's JSON reader, an independent parser, agrees on names, shapes and offsets.
        let n = Int(data.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: data[8..<(8 + n)]) as? [String: Any])
        XCTAssertEqual(object["__metadata__"] as? [String: String], metadata)
        let i64 = try XCTUnwrap(object["i64"] as? [String: Any])
        XCTAssertEqual(i64["dtype"] as? String, "I64")
        XCTAssertEqual(i64["shape"] as? [Int], [1, 2])
        XCTAssertEqual(i64["data_offsets"] as? [Int], [11, 27])
        XCTAssertNotNil(object["f32 \"odd\" name\u{7}é"])
    }

    func testSameInputGivesByteIdenticalFilesWhateverTheDictionaryOrder() {
        var a: [String: String] = [:]
        var b: [String: String] = [:]
        let keys = (0..<50).map { "key\($0)" }
        for k in keys { a[k] = k.uppercased() }
        for k in keys.reversed() { b[k] = k.uppercased() }
        let t = [SafeTensorsTensor.integers(name: "x", dtype: .i32, shape: [2], values: [Int32(1), 2])]
        XCTAssertEqual(SafeTensors.encode(t, metadata: a), SafeTensors.encode(t, metadata: b))
    }

    // MARK: Reader

    func testReaderAcceptsAnyKeyOrderAndWhitespaceAsTheReferenceDoes() throws {
        let header = #" { "b": {"shape": [2], "dtype": "U8", "data_offsets": [1, 3]}, "__metadata__": {}, "a": {"data_offsets":[0,1],"dtype":"I8","shape":[]} }   "#
        let file = try SafeTensorsFile(data: F.crafted(header: header, data: [9, 8, 7]), name: "x")
        XCTAssertEqual(file.tensors.map(\.name), ["a", "b"])
        XCTAssertEqual(file.tensors.map(\.dataOffsets), [0..<1, 1..<3])
        XCTAssertTrue(file.hasMetadata)
        XCTAssertEqual(file.data(of: file.tensors[1]), Data([8, 7]))
        // A slice of a larger buffer (non-zero start index) reads the same.
        let padded = (Data([1, 2, 3]) + F.crafted(header: header, data: [9, 8, 7]))[3...]
        XCTAssertEqual(try SafeTensorsFile(data: padded, name: "x").tensors, file.tensors)
    }

    /// One hostile header per rule, each rejected with its own case.
    func testEveryMalformedHeaderIsRejectedWithItsOwnError() {
        let ok = #"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        let eight = [UInt8](repeating: 0, count: 8)
        let cases: [(String, Data, (SafeTensorsError) -> Bool)] = [
            ("empty", Data(), { if case .tooShort(_, 0) = $0 { return true }; return false }),
            ("7 bytes", Data([1, 0, 0, 0, 0, 0, 0]), { if case .tooShort(_, 7) = $0 { return true }; return false }),
            ("absurd length", F.crafted(header: ok, data: eight, declaredLength: UInt64.max),
             { if case .headerTooLarge(_, UInt64.max) = $0 { return true }; return false }),
            ("length past end", F.crafted(header: ok, data: eight, declaredLength: 1000),
             { if case .headerPastEnd(_, 1000, _) = $0 { return true }; return false }),
            ("bad utf8", Data([7, 0, 0, 0, 0, 0, 0, 0, 0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D]),
             { if case .headerNotUTF8 = $0 { return true }; return false }),
            ("not json", F.crafted(header: "{\"t\":{"), { if case .headerNotJSON = $0 { return true }; return false }),
            ("trailing comma", F.crafted(header: #"{"a":1,}"#), { if case .headerNotJSON = $0 { return true }; return false }),
            ("padding with NUL", F.crafted(header: "{}\0\0"), { if case .headerNotJSON = $0 { return true }; return false }),
            ("array", F.crafted(header: "[]"), { if case .headerNotObject(_, "an array") = $0 { return true }; return false }),
            ("duplicate", F.crafted(header: #"{"t":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"\u0074":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}"#),
             { if case .duplicateKey = $0 { return true }; return false }),
            ("entry not object", F.crafted(header: #"{"t":[1]}"#), { if case .entryNotObject(_, "t", "an array") = $0 { return true }; return false }),
            ("missing field", F.crafted(header: #"{"t":{"dtype":"F32","shape":[2]}}"#),
             { if case .missingField(_, "t", "data_offsets") = $0 { return true }; return false }),
            ("unknown dtype", F.crafted(header: #"{"t":{"dtype":"F31","shape":[2],"data_offsets":[0,8]}}"#, data: eight),
             { if case .unknownDType(_, "t", "F31") = $0 { return true }; return false }),
            ("negative dim", F.crafted(header: #"{"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: eight),
             { if case .badShape(_, "t", _) = $0 { return true }; return false }),
            ("fractional dim", F.crafted(header: #"{"t":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}"#, data: eight),
             { if case .badShape(_, "t", _) = $0 { return true }; return false }),
            ("string dim", F.crafted(header: #"{"t":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}}"#, data: eight),
             { if case .badShape(_, "t", _) = $0 { return true }; return false }),
            ("overflowing shape", F.crafted(header: #"{"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#, data: eight),
             { if case .badShape(_, "t", _) = $0 { return true }; return false }),
            ("huge dim", F.crafted(header: #"{"t":{"dtype":"F32","shape":[99999999999999999999999],"data_offsets":[0,8]}}"#, data: eight),
             { if case .badShape(_, "t", _) = $0 { return true }; return false }),
            ("offsets reversed", F.crafted(header: #"{"t":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}"#, data: eight),
             { if case .badOffsets(_, "t", _) = $0 { return true }; return false }),
            ("offsets triple", F.crafted(header: #"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8,9]}}"#, data: eight),
             { if case .badOffsets(_, "t", _) = $0 { return true }; return false }),
            ("size mismatch", F.crafted(header: #"{"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: eight),
             { if case .sizeMismatch(_, "t", "F32", [3], 12, 8) = $0 { return true }; return false }),
            ("overlap", F.crafted(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
                                   data: eight + [0, 0, 0, 0]),
             { if case .overlappingTensors(_, "b", "a", 4, 8) = $0 { return true }; return false }),
            ("gap", F.crafted(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#,
                               data: eight + [0, 0, 0, 0]),
             { if case .gapBeforeTensor(_, "b", 8, 4) = $0 { return true }; return false }),
            ("gap at start", F.crafted(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: eight),
             { if case .gapBeforeTensor(_, "a", 4, 0) = $0 { return true }; return false }),
            ("past end", F.crafted(header: ok, data: [0, 0, 0, 0]),
             { if case .tensorPastEnd(_, "t", 8, 4) = $0 { return true }; return false }),
            ("trailing bytes", F.crafted(header: ok, data: eight + [1]),
             { if case .trailingData(_, 8, 9) = $0 { return true }; return false }),
            ("metadata not object", F.crafted(header: #"{"__metadata__":"x"}"#),
             { if case .metadataNotStrings(_, nil, "a string") = $0 { return true }; return false }),
            ("metadata number", F.crafted(header: #"{"__metadata__":{"step":3}}"#),
             { if case .metadataNotStrings(_, "step", "a number") = $0 { return true }; return false }),
            ("lone surrogate", F.crafted(header: #"{"\ud800":1}"#), { if case .headerNotJSON = $0 { return true }; return false }),
            ("control char", F.crafted(header: "{\"a\nb\":1}"), { if case .headerNotJSON = $0 { return true }; return false }),
            ("deep nesting", F.crafted(header: String(repeating: "[", count: 200_000)), { if case .headerNotJSON = $0 { return true }; return false }),
        ]
        for (label, data, matches) in cases {
            do {
                _ = try SafeTensorsFile(data: data, name: "bad-\(label).safetensors")
                XCTFail("\(label): accepted")
            } catch let error as SafeTensorsError {
                XCTAssertTrue(matches(error), "\(label): \(error)")
                XCTAssertTrue(error.description.contains("bad-\(label).safetensors"), "\(label): \(error)")
                XCTAssertTrue(error.description.hasSuffix("."), "\(label): \(error)")
            } catch {
                XCTFail("\(label): unexpected \(error)")
            }
        }
    }

    /// Seeded random bytes, alone or behind a plausible length prefix, never crash the reader.
    func testRandomBytesNeverCrashTheReader() {
        var rng = QuillRandom(seed: 99)
        let alphabet = Array(#"{}[]":,0123456789-.eE "dtype" "shape" "data_offsets" F32 U8 \u"#.utf8)
        for round in 0..<3000 {
            let length = Int(rng.next() % 96)
            var body = (0..<length).map { _ in rng.next() % 4 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            var data = Data()
            if round % 2 == 0 {
                let declared = UInt64(rng.next() % UInt64(length + 4))
                withUnsafeBytes(of: declared.littleEndian) { data.append(contentsOf: $0) }
            } else {
                body.insert(contentsOf: [UInt8](repeating: 0, count: 8).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: 0)
            }
            data.append(contentsOf: body)
            do {
                _ = try SafeTensorsFile(data: data, name: "random")
            } catch is SafeTensorsError {
            } catch {
                XCTFail("unexpected \(error)")
            }
        }
    }

    func testStrictJSONParsesValuesExactly() throws {
        XCTAssertEqual(try StrictJSON.parse(Array(#" {"a":[1,-2.5e3,true,false,null,"x\u00e9\ud83d\ude00\n"]} "#.utf8)),
                       .object([(key: "a", value: .array([.number(lexeme: "1"), .number(lexeme: "-2.5e3"), .bool(true), .bool(false), .null,
                                                          .string("xé😀\n")]))]))
        for bad in ["", "01", "1.", "-", "+1", "[1 2]", "{\"a\" 1}", "\"\\x\"", "nul", "1e", "[]]", "\"\\ud83d\\u0041\""] {
            XCTAssertThrowsError(try StrictJSON.parse(Array(bad.utf8)), bad)
        }
        XCTAssertEqual(StrictJSON.parseDigits("9223372036854775807"), Int.max)
        XCTAssertNil(StrictJSON.parseDigits("9223372036854775808"))
        XCTAssertNil(StrictJSON.parseDigits("007"))
        XCTAssertTrue(StrictJSON.isValidUTF8(Array("aé😀".utf8)))
        for bad: [UInt8] in [[0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0x80]] {
            XCTAssertFalse(StrictJSON.isValidUTF8(bad), "\(bad)")
        }
    }
}
