import Foundation
import Quill
import XCTest

/// Family 7 of the reliability issue: a damaged model or training state is refused with a
/// sentence that blames the right file, and nothing is resumed or written.
final class FaultMatrixIntegrityTests: XCTestCase {
    private var dir: URL!
    private var corpus: String!
    private var out: URL!
    private let steps = ["--steps", "20", "--eval-every", "10"]

    override func setUpWithError() throws {
        dir = TestCorpus.folder("quill-integrity")
        corpus = TestCorpus.file(in: dir, characters: 8_000)
        out = dir.appendingPathComponent("model")
        let result = try FaultRun.train(corpus, out, steps)
        XCTAssertEqual(result.status, 0, result.stderr)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    /// Rewrites a safetensors file with `change` applied to the bytes of tensor `name`, with a fresh
    /// checksum (as a tool that knows the format would) or with none at all.
    private func rewrite(_ url: URL, tensor name: String, checksum: Bool, _ change: (inout Data) -> Void) throws {
        let file = try SafeTensorsFile(contentsOf: url)
        var metadata = file.metadata
        metadata[DataChecksum.metadataKey] = nil
        let tensors = file.tensors.map { entry -> SafeTensorsTensor in
            var bytes = Data(file.data(of: entry))
            if entry.name == name { change(&bytes) }
            return SafeTensorsTensor(name: entry.name, dtype: entry.dtype, shape: entry.shape, bytes: bytes)
        }
        try SafeTensors.encode(tensors, metadata: metadata, checksum: checksum).write(to: url)
    }

    private func resume() throws -> QuillBinary.Result {
        try FaultRun.train(corpus, out, ["--resume", "--steps", "30", "--eval-every", "10"])
    }

    func testAFlippedByteInAnyTensorOfTheStateIsRefusedBlamingTheState() throws {
        let state = ModelFolder(out).state
        let original = try Data(contentsOf: state)
        let file = try SafeTensorsFile(data: original, name: state.path)
        XCTAssertEqual(Set(file.tensors.map(\.name)), ["weights", "adam.m", "adam.v", "lstm.h", "lstm.c", "random"])
        for entry in file.tensors {
            // A low bit of a byte in the middle of the tensor: a change no range check could see.
            var damaged = original
            damaged[file.dataStart + (entry.dataOffsets.lowerBound + entry.dataOffsets.upperBound) / 2] ^= 0x01
            try damaged.write(to: state)
            let before = FileTreeSnapshot.take(dir)
            let result = try resume()
            assertRefused(result, saying: "The training state \(state.path) is damaged")
            XCTAssertTrue(result.stderr.contains("checksum"), "\(entry.name): \(result.stderr)")
            XCTAssertFalse(result.stderr.contains("model.safetensors"), "\(entry.name): blames the model: \(result.stderr)")
            assertUnchanged(dir, since: before)
        }
        // The metadata (settings, data position, step) is covered too.
        var text = String(decoding: original, as: UTF8.self)
        text = text.replacingOccurrences(of: "\"step\":20", with: "\"step\":21")
        try Data(text.utf8).write(to: state)
        assertRefused(try resume(), saying: "damaged")
        try original.write(to: state)
        XCTAssertEqual(try resume().status, 0)
    }

    func testANegativeAdamSecondMomentIsRefusedEvenWithAValidChecksum() throws {
        let state = ModelFolder(out).state
        for checksum in [true, false] {
            try rewrite(state, tensor: "adam.v", checksum: checksum) { bytes in
                withUnsafeBytes(of: Float(-1).bitPattern.littleEndian) { bytes.replaceSubrange(40..<44, with: $0) }
            }
            let before = FileTreeSnapshot.take(dir)
            let result = try resume()
            assertRefused(result, saying: "second moment")
            XCTAssertTrue(result.stderr.contains(state.path), result.stderr)
            XCTAssertFalse(result.stderr.contains("learning rate") || result.stderr.contains("model.safetensors"), result.stderr)
            assertUnchanged(dir, since: before)
        }
    }

    func testAStateWithoutAChecksumStillResumes() throws {
        let state = ModelFolder(out).state
        try rewrite(state, tensor: "", checksum: false) { _ in }
        XCTAssertNil(try SafeTensorsFile(contentsOf: state).metadata[DataChecksum.metadataKey])
        let result = try resume()
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertNotNil(try SafeTensorsFile(contentsOf: state).metadata[DataChecksum.metadataKey], "the new state carries a checksum")
    }

    func testADamagedModelIsRefusedBySampleAndEvalAndAModelWithoutAChecksumStillLoads() throws {
        let model = ModelFolder(out).model
        let original = try Data(contentsOf: model)
        let file = try SafeTensorsFile(data: original, name: model.path)
        var damaged = original
        damaged[file.dataStart + 123] ^= 0x01
        try damaged.write(to: model)
        let before = FileTreeSnapshot.take(dir)
        assertRefused(try QuillBinary.run(["sample", model.path, "--length", "10"]), saying: "is damaged")
        assertRefused(try QuillBinary.run(["eval", model.path, corpus, "--doc-separator", "%"]), saying: "is damaged")
        assertUnchanged(dir, since: before)

        // Already handled before the issue: a truncated model file.
        try original.prefix(original.count / 2).write(to: model)
        assertRefused(try QuillBinary.run(["sample", model.path, "--length", "10"]), saying: "truncated")

        // A file with no checksum, as PyTorch writes one, loads with the usual checks.
        try original.write(to: model)
        try rewrite(model, tensor: "", checksum: false) { _ in }
        let sampled = try QuillBinary.run(["sample", model.path, "--length", "10"])
        XCTAssertEqual(sampled.status, 0, sampled.stderr)
    }
}
