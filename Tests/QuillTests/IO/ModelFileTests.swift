import Foundation
@testable import Quill
import XCTest

final class ModelFileTests: XCTestCase {
    typealias F = ModelFileFixtures

    private func bits(_ buffer: ParameterBuffer) -> [UInt32] {
        (0..<buffer.count).map { buffer.pointer[$0].bitPattern }
    }

    // MARK: Round trip

    func testWriteThenReadGivesBitIdenticalWeightsAndEqualMetadata() throws {
        let model = F.smallModel()
        let folder = try F.temporaryFolder()
        let url = folder.appendingPathComponent("model.safetensors")
        try model.write(to: url)
        let back = try ModelFile.read(from: url)
        XCTAssertEqual(back.configuration, model.configuration)
        XCTAssertEqual(back.vocabulary, model.vocabulary)
        XCTAssertEqual(back.vocabulary.scalars.map(\.value), [0x0A, 0x61, 0x62, 0xE9])
        XCTAssertEqual(back.textOptions, TextOptions(form: .nfkc, caseFold: true))
        XCTAssertEqual(back.step, 1234)
        XCTAssertEqual(back.info, model.info)
        XCTAssertEqual(back.configuration.dropout.bitPattern, (0.1 as Float).bitPattern)
        let original = bits(model.weights)
        XCTAssertEqual(bits(back.weights), original)
        // The edge values really are in the file: -0.0 and a subnormal keep their bits.
        XCTAssertTrue(original.contains((-0.0 as Float).bitPattern))
        XCTAssertTrue(original.contains(Float.leastNonzeroMagnitude.bitPattern))
        XCTAssertTrue(original.contains(Float(bitPattern: 0x007F_FFFF).bitPattern))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        XCTAssertEqual(leftovers, ["model.safetensors"])
    }

    func testEveryNormalizationFormAndStepRoundTrips() throws {
        for form in NormalizationForm.allCases {
            for fold in [false, true] {
                var model = F.smallModel(seed: 3)
                model.textOptions = TextOptions(form: form, caseFold: fold)
                model.step = fold ? 0 : Int(Int32.max) + 5
                model.info = [:]
                let back = try ModelFile.decode(model.data(), name: "m")
                XCTAssertEqual(back.textOptions, model.textOptions)
                XCTAssertEqual(back.step, model.step)
                XCTAssertEqual(back.info, [:])
            }
        }
    }

    func testWritingTheSameModelTwiceGivesByteIdenticalFiles() throws {
        let folder = try F.temporaryFolder()
        let a = folder.appendingPathComponent("a.safetensors"), b = folder.appendingPathComponent("b.safetensors")
        try F.smallModel().write(to: a)
        try F.smallModel().write(to: b)
        XCTAssertEqual(try Data(contentsOf: a), try Data(contentsOf: b))
        XCTAssertNotEqual(try F.smallModel(seed: 2).data(), try Data(contentsOf: a))
    }

    /// The file is laid out as DESIGN.md says, checked with Foundation's JSON reader and raw byte reads.
    func testFileHoldsPyTorchNamesShapesAndRawLittleEndianData() throws {
        let model = F.smallModel()
        let data = try model.data()
        let n = Int(data.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        XCTAssertEqual((8 + n) % 8, 0)
        let header = try XCTUnwrap(JSONSerialization.jsonObject(with: data[8..<(8 + n)]) as? [String: Any])
        let meta = try XCTUnwrap(header["__metadata__"] as? [String: String])
        XCTAssertEqual(meta["format"], "quill.char-lstm")
        XCTAssertEqual(meta["format_version"], "1")
        XCTAssertEqual(meta["vocabulary"], "[10,97,98,233]")
        XCTAssertEqual(meta["vocab_size"], "5")
        XCTAssertEqual(meta["embed_size"], "3")
        XCTAssertEqual(meta["hidden_size"], "4")
        XCTAssertEqual(meta["layers"], "2")
        XCTAssertEqual(meta["dropout"], "0.1")
        XCTAssertEqual(meta["normalization"], "NFKC")
        XCTAssertEqual(meta["case_fold"], "true")
        XCTAssertEqual(meta["step"], "1234")
        XCTAssertEqual(meta["info.corpus"], "tiny \"quoted\" \\ corpus\n")
        let expectedShapes: [String: [Int]] = [
            "embedding.weight": [5, 3], "decoder.weight": [5, 4], "decoder.bias": [5],
            "lstm.weight_ih_l0": [16, 3], "lstm.weight_hh_l0": [16, 4], "lstm.bias_ih_l0": [16], "lstm.bias_hh_l0": [16],
            "lstm.weight_ih_l1": [16, 4], "lstm.weight_hh_l1": [16, 4], "lstm.bias_ih_l1": [16], "lstm.bias_hh_l1": [16],
        ]
        XCTAssertEqual(Set(header.keys), Set(expectedShapes.keys).union(["__metadata__"]))
        for (name, shape) in expectedShapes {
            let entry = try XCTUnwrap(header[name] as? [String: Any])
            XCTAssertEqual(entry["dtype"] as? String, "F32")
            XCTAssertEqual(entry["shape"] as? [Int], shape)
            let offsets = try XCTUnwrap(entry["data_offsets"] as? [Int])
            let slot = try XCTUnwrap(model.weights.layout.slot(named: name))
            XCTAssertEqual(offsets, [slot.offset * 4, (slot.offset + slot.count) * 4])
            // Element 1 of each tensor, read as raw little-endian bits.
            let at = 8 + n + offsets[0] + 4
            let raw = data[at..<(at + 4)].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            XCTAssertEqual(raw, model.weights.view(slot)[1].bitPattern, name)
        }
        XCTAssertEqual(data.count, 8 + n + model.weights.count * 4)
    }

    // MARK: Bad files

    /// Every strict prefix of a real file is rejected with an error, never a crash or a model.
    func testTruncatedAtEveryLengthIsAnError() throws {
        let data = try F.smallModel().data()
        for length in 0..<data.count {
            do {
                _ = try ModelFile.decode(data.prefix(length), name: "cut.safetensors")
                XCTFail("a file cut to \(length) of \(data.count) bytes was accepted")
            } catch let error as SafeTensorsError {
                XCTAssertTrue(error.description.contains("cut.safetensors"))
            } catch let error as ModelFileError {
                XCTFail("a truncated file should fail the safetensors checks, got \(error)")
            }
        }
        XCTAssertNoThrow(try ModelFile.decode(data, name: "whole"))
    }

    /// Each mistake in an otherwise valid safetensors file gives its own `ModelFileError`.
    func testEveryInconsistentModelFileIsRejectedWithItsOwnError() throws {
        let model = F.smallModel()
        func f32(_ name: String, _ shape: [Int]) -> SafeTensorsTensor {
            SafeTensorsTensor(name: name, dtype: .f32, shape: shape, bytes: F.bytes([Float](repeating: 0.5, count: shape.reduce(1, *))))
        }
        func meta(_ change: @escaping (inout [String: String]) -> Void) -> Data { F.rebuilt(model, metadata: change) }
        func tensors(_ change: @escaping (inout [SafeTensorsTensor]) -> Void) -> Data { F.rebuilt(model, tensors: change) }
        let cases: [(String, Data, (ModelFileError) -> Bool)] = [
            ("foreign", SafeTensors.encode([f32("transformer.wte.weight", [4, 2])], metadata: ["format": "pt"]),
             { if case .notQuillModel(_, "pt") = $0 { return true }; return false }),
            ("foreign without metadata", SafeTensors.encode([f32("fc.weight", [2, 2])]),
             { if case .notQuillModel(_, nil) = $0 { return true }; return false }),
            ("no format", meta { $0["format"] = nil }, { if case .notQuillModel(_, nil) = $0 { return true }; return false }),
            ("future version", meta { $0["format_version"] = "2" }, { if case .unsupportedVersion(_, "2") = $0 { return true }; return false }),
            ("no version", meta { $0["format_version"] = nil }, { if case .missingMetadata(_, "format_version") = $0 { return true }; return false }),
            ("unknown key", meta { $0["learning_rate"] = "3" }, { if case .unknownMetadata(_, "learning_rate") = $0 { return true }; return false }),
            ("missing step", meta { $0["step"] = nil }, { if case .missingMetadata(_, "step") = $0 { return true }; return false }),
            ("missing vocabulary", meta { $0["vocabulary"] = nil }, { if case .missingMetadata(_, "vocabulary") = $0 { return true }; return false }),
            ("garbled size", meta { $0["hidden_size"] = "4x" }, { if case .badMetadata(_, "hidden_size", "4x", _) = $0 { return true }; return false }),
            ("negative step", meta { $0["step"] = "-1" }, { if case .badMetadata(_, "step", "-1", _) = $0 { return true }; return false }),
            ("garbled dropout", meta { $0["dropout"] = "nan" }, { if case .badMetadata(_, "dropout", "nan", _) = $0 { return true }; return false }),
            ("dropout one", meta { $0["dropout"] = "1" }, { if case .badConfiguration(_, .badDropout(1)) = $0 { return true }; return false }),
            ("zero layers", meta { $0["layers"] = "0" }, { if case .badConfiguration(_, .outOfRange(_, 0, _)) = $0 { return true }; return false }),
            ("bad normalization", meta { $0["normalization"] = "nfc" }, { if case .badMetadata(_, "normalization", "nfc", _) = $0 { return true }; return false }),
            ("bad case fold", meta { $0["case_fold"] = "yes" }, { if case .badMetadata(_, "case_fold", "yes", _) = $0 { return true }; return false }),
            ("vocabulary not json", meta { $0["vocabulary"] = "[10,97" }, { if case .badVocabulary = $0 { return true }; return false }),
            ("vocabulary object", meta { $0["vocabulary"] = "{}" }, { if case .badVocabulary = $0 { return true }; return false }),
            ("vocabulary unsorted", meta { $0["vocabulary"] = "[10,98,97,233]" }, { if case .badVocabulary = $0 { return true }; return false }),
            ("vocabulary repeated", meta { $0["vocabulary"] = "[10,97,97,233]" }, { if case .badVocabulary = $0 { return true }; return false }),
            ("vocabulary surrogate", meta { $0["vocabulary"] = "[10,97,98,55296]" }, { if case .badVocabulary = $0 { return true }; return false }),
            ("vocabulary too high", meta { $0["vocabulary"] = "[10,97,98,1114112]" }, { if case .badVocabulary = $0 { return true }; return false }),
            ("vocabulary fraction", meta { $0["vocabulary"] = "[10,97,98,99.5]" }, { if case .badVocabulary = $0 { return true }; return false }),
            ("vocabulary shorter than vocab_size", meta { $0["vocabulary"] = "[10,97,98]" },
             { if case .vocabularySizeMismatch(_, 5, 3) = $0 { return true }; return false }),
            ("vocab_size disagrees with embedding rows", meta { $0["vocab_size"] = "6"; $0["vocabulary"] = "[10,97,98,233,300]" },
             { if case .wrongShape(_, "embedding.weight", [6, 3], [5, 3]) = $0 { return true }; return false }),
            ("vocab_size disagrees with vocabulary", meta { $0["vocab_size"] = "6" },
             { if case .vocabularySizeMismatch(_, 6, 4) = $0 { return true }; return false }),
            ("hidden size disagrees", meta { $0["hidden_size"] = "5" },
             { if case .wrongShape(_, "lstm.weight_ih_l0", [20, 3], [16, 3]) = $0 { return true }; return false }),
            ("missing tensor", tensors { $0.removeAll { $0.name == "lstm.bias_hh_l1" } },
             { if case .missingTensor(_, "lstm.bias_hh_l1") = $0 { return true }; return false }),
            ("missing layer", meta { $0["layers"] = "3" }, { if case .missingTensor(_, "lstm.weight_ih_l2") = $0 { return true }; return false }),
            ("extra tensor", tensors { $0.append(f32("lstm.weight_ih_l2", [16, 4])) },
             { if case .unexpectedTensor(_, "lstm.weight_ih_l2") = $0 { return true }; return false }),
            ("wrong dtype", tensors { $0[$0.count - 1] = .integers(name: "decoder.bias", dtype: .i32, shape: [5], values: [Int32](repeating: 0, count: 5)) },
             { if case .wrongDType(_, "decoder.bias", "I32") = $0 { return true }; return false }),
            ("wrong shape", tensors { $0[0] = f32("embedding.weight", [3, 5]) },
             { if case .wrongShape(_, "embedding.weight", [5, 3], [3, 5]) = $0 { return true }; return false }),
            ("NaN weight", tensors { $0[2] = SafeTensorsTensor(name: "lstm.weight_hh_l0", dtype: .f32, shape: [16, 4],
                                                                 bytes: F.bytes((0..<64).map { $0 == 37 ? .nan : 0 })) },
             { if case .nonFiniteWeight(_, "lstm.weight_hh_l0", 37, "nan") = $0 { return true }; return false }),
            ("infinite weight", tensors { $0[$0.count - 1] = SafeTensorsTensor(name: "decoder.bias", dtype: .f32, shape: [5],
                                                                                bytes: F.bytes([0, 0, 0, 0, -.infinity])) },
             { if case .nonFiniteWeight(_, "decoder.bias", 4, "-inf") = $0 { return true }; return false }),
        ]
        for (label, data, matches) in cases {
            do {
                _ = try ModelFile.decode(data, name: "bad-\(label).safetensors")
                XCTFail("\(label): accepted")
            } catch let error as ModelFileError {
                XCTAssertTrue(matches(error), "\(label): \(error)")
                XCTAssertTrue(error.description.contains("bad-\(label).safetensors"), "\(label): \(error)")
                XCTAssertTrue(error.description.hasSuffix("."), "\(label): \(error)")
            } catch {
                XCTFail("\(label): unexpected \(error)")
            }
        }
    }

    func testForeignFileSaysItIsNotAQuillModel() throws {
        let data = SafeTensors.encode([SafeTensorsTensor(name: "w", dtype: .f32, shape: [1], bytes: F.bytes([1]))], metadata: ["format": "pt"])
        XCTAssertThrowsError(try ModelFile.decode(data, name: "gpt2.safetensors")) { error in
            XCTAssertEqual(String(describing: error),
                           "The file gpt2.safetensors is a safetensors file but not a Quill model file (its format is \"pt\", expected \"quill.char-lstm\"); pass a model written by quill train.")
        }
    }

    func testHeaderLengthLargerThanTheFileAndOverlappingOffsetsInARealFile() throws {
        var data = try F.smallModel().data()
        let n = Int(data.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        var lying = data
        withUnsafeBytes(of: UInt64(data.count).littleEndian) { lying.replaceSubrange(0..<8, with: $0) }
        XCTAssertThrowsError(try ModelFile.decode(lying, name: "m")) { error in
            guard case SafeTensorsError.headerPastEnd = error else { return XCTFail("\(error)") }
        }
        // Move decoder.bias to start 4 bytes early: same length text, so the header size stays right.
        let header = String(decoding: data[8..<(8 + n)], as: UTF8.self)
        let total = (F.smallModel().weights.count) * 4
        let biasStart = total - 20
        let old = "\"data_offsets\":[\(biasStart),\(total)]"
        let new = "\"data_offsets\":[\(biasStart - 4),\(total - 4)]"
        XCTAssertTrue(header.contains(old))
        let patched = header.replacingOccurrences(of: old, with: new.padding(toLength: old.count, withPad: " ", startingAt: 0))
        XCTAssertEqual(patched.utf8.count, n)
        data.replaceSubrange(8..<(8 + n), with: Array(patched.utf8))
        XCTAssertThrowsError(try ModelFile.decode(data, name: "m")) { error in
            guard case SafeTensorsError.overlappingTensors(_, "decoder.bias", "decoder.weight", _, _) = error else { return XCTFail("\(error)") }
        }
        let past = header.replacingOccurrences(of: old, with: "\"data_offsets\":[\(biasStart),\(total + 4)]".padding(toLength: old.count, withPad: " ", startingAt: 0))
        data.replaceSubrange(8..<(8 + n), with: Array(past.utf8))
        XCTAssertThrowsError(try ModelFile.decode(data, name: "m")) { error in
            // The byte count no longer matches the shape, which the reader reports first.
            guard case SafeTensorsError.sizeMismatch(_, "decoder.bias", _, _, 20, 24) = error else { return XCTFail("\(error)") }
        }
        let pastEnd = SafeTensors.encode([SafeTensorsTensor(name: "w", dtype: .f32, shape: [2], bytes: F.bytes([1, 2]))]).dropLast(4)
        XCTAssertThrowsError(try ModelFile.decode(Data(pastEnd), name: "m")) { error in
            guard case SafeTensorsError.tensorPastEnd(_, "w", 8, 4) = error else { return XCTFail("\(error)") }
        }
    }

    /// Flipping any one byte of a real file (two ways each) is refused when the file has its checksum;
    /// without one (as PyTorch writes it) it gives an error or a valid finite model, never a crash.
    func testEveryByteFlipGivesAnErrorOrAValidModel() throws {
        let checked = try F.smallModel().data()
        let file = try SafeTensorsFile(data: checked, name: "m")
        var metadata = file.metadata
        metadata[DataChecksum.metadataKey] = nil
        let plain = SafeTensors.encode(file.tensors.map {
            SafeTensorsTensor(name: $0.name, dtype: $0.dtype, shape: $0.shape, bytes: file.data(of: $0))
        }, metadata: metadata)
        let plainModel = try ModelFile.decode(plain, name: "plain"), checkedModel = try ModelFile.decode(checked, name: "m")
        XCTAssertEqual(Array(plainModel.weights.elements), Array(checkedModel.weights.elements))
        for (data, hasChecksum) in [(checked, true), (plain, false)] {
            var accepted = 0, rejected = 0
            for index in 0..<data.count {
                for mask: UInt8 in [0x01, 0xFF] {
                    var copy = data
                    copy[index] ^= mask
                    do {
                        let model = try ModelFile.decode(copy, name: "flip")
                        XCTAssertTrue(model.weights.allFinite(), "flip \(mask) at \(index)")
                        XCTAssertEqual(model.weights.layout, ParameterLayout(model.configuration))
                        XCTAssertEqual(model.vocabulary.count, model.configuration.vocabularySize)
                        XCTAssertNoThrow(try model.configuration.validate())
                        accepted += 1
                    } catch is SafeTensorsError {
                        rejected += 1
                    } catch is ModelFileError {
                        rejected += 1
                    }
                }
            }
            if hasChecksum {
                // The checksum covers the data and the metadata; the rest is structure the reader checks.
                XCTAssertEqual(accepted, 0, "a flipped byte was accepted despite the checksum")
            } else {
                // Flips inside weights mostly give other finite weights; flips in the header are mostly errors.
                XCTAssertGreaterThan(accepted, 0)
            }
            XCTAssertGreaterThan(rejected, 0)
        }
    }

    // MARK: Writing checks

    func testRefusesToWriteAModelThatCouldNotBeReadBack() throws {
        let model = F.smallModel()
        model.weights.view(at: 1)[2] = .infinity
        XCTAssertThrowsError(try model.data()) { error in
            XCTAssertEqual(error as? ModelFileError, .nonFiniteWeight(file: "(unsaved model)", tensor: "lstm.weight_ih_l0", index: 2, value: "inf"))
        }
        let folder = try F.temporaryFolder()
        let url = folder.appendingPathComponent("m.safetensors")
        try Data("old".utf8).write(to: url)
        XCTAssertThrowsError(try model.write(to: url))
        XCTAssertEqual(try Data(contentsOf: url), Data("old".utf8))

        var wrongVocabulary = F.smallModel()
        wrongVocabulary.vocabulary = Vocabulary(scalars: "ab".unicodeScalars)
        XCTAssertThrowsError(try wrongVocabulary.data()) { error in
            XCTAssertEqual(error as? ModelFileError, .vocabularySizeMismatch(file: "(unsaved model)", vocabularySize: 5, listed: 2))
        }
    }

    func testReadingAMissingFileNamesThePathAndTheReason() throws {
        let url = try F.temporaryFolder().appendingPathComponent("absent.safetensors")
        XCTAssertThrowsError(try ModelFile.read(from: url)) { error in
            XCTAssertEqual(error as? FileError, .cannotRead(path: url.path, errno: ENOENT))
            XCTAssertEqual(String(describing: error), "Cannot read \(url.path): No such file or directory; check the path and its permissions.")
        }
    }
}
