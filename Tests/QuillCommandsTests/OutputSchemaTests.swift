import Foundation
@testable import Quill
import XCTest

/// The JSON that users and scripts read, pinned key by key with each value's kind: `metrics.jsonl`,
/// `eval --json`, `inspect --json` and every `bench` mode's last line (the field names of the PyTorch peer).
final class OutputSchemaTests: XCTestCase {
    /// The kind of a JSON value, as a script would rely on it.
    enum Kind: Equatable {
        /// A number written without fraction or exponent.
        case integer
        /// Any number.
        case number
        /// A number, or null when there is no value.
        case numberOrNull
        case string
        case bool
        case array
        case object

        func accepts(_ value: JSONValue) -> Bool {
            switch (self, value) {
            case let (.integer, .number(lexeme)): return lexeme.allSatisfy { $0.isNumber || $0 == "-" }
            case (.number, .number), (.numberOrNull, .number), (.numberOrNull, .null): return true
            case (.string, .string), (.bool, .bool), (.array, .array), (.object, .object): return true
            default: return false
            }
        }

    }

    /// Parses one JSON object strictly and checks that its keys are exactly `schema`'s, each of its kind.
    private func assertSchema(_ line: String, _ schema: [String: Kind], _ what: String,
                              file: StaticString = #filePath, line testLine: UInt = #line) throws {
        let value = try StrictJSON.parse(Array(line.utf8))
        guard case let .object(members) = value else { return XCTFail("\(what): not an object: \(line)", file: file, line: testLine) }
        XCTAssertEqual(Set(members.map(\.key)), Set(schema.keys), "\(what): \(line)", file: file, line: testLine)
        for (key, item) in members {
            guard let kind = schema[key] else { continue }
            XCTAssertTrue(kind.accepts(item), "\(what): \(key) is \(item.kindName), not \(kind): \(line)", file: file, line: testLine)
        }
    }

    func testMetricsLinesKeepTheirKeysAndKinds() throws {
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 6_000)
        let out = dir.appendingPathComponent("model")
        let result = try QuillBinary.run(["train", corpus, "--out", out.path, "--doc-separator", "%", "--embed", "4",
                                          "--hidden", "8", "--layers", "1", "--batch", "2", "--seq", "8",
                                          "--steps", "20", "--eval-every", "10", "--sample-length", "0"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = try String(contentsOf: ModelFolder(out).metrics, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 4, "a line per 10 steps and one per evaluation")
        let schema: [String: Kind] = ["step": .integer, "epoch": .number, "train_loss": .numberOrNull,
                                      "val_loss": .numberOrNull, "lr": .number, "chars_per_s": .number]
        for line in lines { try assertSchema(String(line), schema, "metrics.jsonl") }
    }

    func testEvalJSONKeepsItsKeysAndKinds() throws {
        let files = TrainedModel.shared
        let result = try QuillBinary.run(["eval", files.model, files.corpus, "--doc-separator", "%", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        try assertSchema(result.stdout.trimmingCharacters(in: .newlines), [
            "nats_per_char": .number, "bits_per_char": .number, "perplexity": .number, "characters": .integer,
            "documents": .integer, "unknown_characters": .integer, "files": .array, "seconds": .number,
            "chars_per_s": .number, "unknown": .object,
        ], "eval --json")
    }

    func testInspectJSONKeepsItsKeysAndKinds() throws {
        let result = try QuillBinary.run(["inspect", TrainedModel.shared.model, "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let line = result.stdout.trimmingCharacters(in: .newlines)
        try assertSchema(line, [
            "file": .string, "bytes": .integer, "format": .string, "format_version": .string, "vocab_size": .integer,
            "embed_size": .integer, "hidden_size": .integer, "layers": .integer, "dropout": .number,
            "parameters": .integer, "normalization": .string, "case_fold": .bool, "step": .integer,
            "code_points": .array, "vocabulary": .array, "info": .object, "validation": .object,
        ], "inspect --json")
        guard case let .object(members) = try StrictJSON.parse(Array(line.utf8)),
              let validation = members.first(where: { $0.key == "validation" })?.value else {
            return XCTFail("inspect --json lacks validation: \(line)")
        }
        try assertSchema(validation.text, ["nats_per_char": .number, "bits_per_char": .number, "perplexity": .number],
                         "inspect --json validation")
    }

    /// The fields every engine benchmark line starts with, as the PyTorch peer prints them, and the
    /// OpenBLAS kernels that ran.
    private let benchHead: [String: Kind] = [
        "mode": .string, "impl": .string, "precision": .string, "threads": .integer, "vocab": .integer,
        "embed": .integer, "hidden": .integer, "layers": .integer, "batch": .integer, "seq": .integer,
        "blas_core": .string,
    ]

    private func benchLine(_ arguments: [String]) throws -> String {
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 6_000)
        let result = try QuillBinary.run(["bench"] + arguments + ["--corpus", corpus, "--embed", "4", "--hidden", "8",
                                                                  "--layers", "1", "--batch", "2", "--seq", "8"])
        XCTAssertEqual(result.status, 0, result.stderr)
        return String(result.stdout.split(separator: "\n").last ?? "")
    }

    func testBenchLinesKeepThePeersFieldNames() throws {
        try assertSchema(try benchLine(["throughput", "--steps", "2"]),
                         benchHead.merging(["train_chars_per_s": .number, "steps": .integer, "peak_rss_mb": .number]) { $1 },
                         "bench throughput")
        try assertSchema(try benchLine(["sample", "--length", "20"]),
                         benchHead.merging(["sample_chars_per_s": .number, "length": .integer]) { $1 }, "bench sample")
        try assertSchema(try benchLine(["eval"]),
                         benchHead.merging(["eval_chars_per_s": .number, "val_nats_per_char": .number]) { $1 }, "bench eval")
        try assertSchema(try benchLine(["budget", "--seconds", "0.2"]),
                         benchHead.merging(["seconds": .number, "steps": .integer, "train_chars": .integer,
                                            "val_nats_per_char": .number, "val_bits_per_char": .number,
                                            "val_perplexity": .number, "settings": .string]) { $1 }, "bench budget")
    }

    func testBenchTokenizeLineKeepsItsKeys() throws {
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 3_000)
        let result = try QuillBinary.run(["bench", "tokenize", corpus])
        XCTAssertEqual(result.status, 0, result.stderr)
        try assertSchema(result.stdout.trimmingCharacters(in: .newlines), [
            "mode": .string, "bytes": .integer, "characters": .integer, "tokens": .integer, "documents": .integer,
            "vocab": .integer, "seconds": .number, "mb_per_s": .number, "peak_rss_mb": .number,
        ], "bench tokenize")
    }
}

private extension JSONValue {
    /// The value written back as compact JSON, for re-checking a nested object.
    var text: String {
        switch self {
        case .null: return "null"
        case let .bool(b): return b ? "true" : "false"
        case let .number(lexeme): return lexeme
        case let .string(s): return JSONText.quoted(s)
        case let .array(items): return "[" + items.map(\.text).joined(separator: ",") + "]"
        case let .object(members): return "{" + members.map { JSONText.quoted($0.key) + ":" + $0.value.text }.joined(separator: ",") + "}"
        }
    }
}
