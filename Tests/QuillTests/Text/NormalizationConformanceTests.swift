import Foundation
import XCTest
@testable import Quill

struct MissingConformanceFile: Error, CustomStringConvertible {
    var description: String
}

/// Checks Quill's normalizer against Unicode's own NormalizationTest.txt, every line and every invariant.
final class NormalizationConformanceTests: XCTestCase {
    static let path = "/usr/share/unicode/NormalizationTest.txt.bz2"

    /// The test file's lines, decompressed with bzip2.
    func loadTestFile() throws -> String {
        guard FileManager.default.fileExists(atPath: Self.path) else {
            // A failure, never a skip: the conformance check must run wherever the tests run.
            throw MissingConformanceFile(description: "\(Self.path) is missing; install the Debian/Ubuntu package 'unicode-data' (apt-get install unicode-data).")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bzip2")
        process.arguments = ["-dc", Self.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "bzip2 failed on \(Self.path)")
        return String(decoding: data, as: UTF8.self)
    }

    func testEveryLineAndInvariantOfNormalizationTest() throws {
        let text = try loadTestFile()
        let nfc = Normalizer(options: TextOptions(form: .nfc))
        let nfd = Normalizer(options: TextOptions(form: .nfd))
        let nfkc = Normalizer(options: TextOptions(form: .nfkc))
        let nfkd = Normalizer(options: TextOptions(form: .nfkd))
        var part = ""
        var part1: Set<UInt32> = []
        var lines = 0, failures = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if raw.hasPrefix("#") { continue }
            if raw.hasPrefix("@") { part = String(raw.split(separator: " ")[0]); continue }
            let fields = raw.split(separator: ";", omittingEmptySubsequences: false).prefix(5).map { field in
                field.split(separator: " ").map { Unicode.Scalar(UInt32($0, radix: 16)!)! }
            }
            XCTAssertEqual(fields.count, 5, "bad line \(raw)")
            let (c1, c2, c3, c4, c5) = (fields[0], fields[1], fields[2], fields[3], fields[4])
            if part == "@Part1" { part1.insert(c1[0].value) }
            lines += 1
            // NFC: c2 == toNFC(c1) == toNFC(c2) == toNFC(c3); c4 == toNFC(c4) == toNFC(c5)
            // NFD: c3 == toNFD(c1) == toNFD(c2) == toNFD(c3); c5 == toNFD(c4) == toNFD(c5)
            // NFKC: c4 == toNFKC(c1...c5); NFKD: c5 == toNFKD(c1...c5)
            let checks: [(Normalizer, [[Unicode.Scalar]], [Unicode.Scalar])] = [
                (nfc, [c1, c2, c3], c2), (nfc, [c4, c5], c4),
                (nfd, [c1, c2, c3], c3), (nfd, [c4, c5], c5),
                (nfkc, [c1, c2, c3, c4, c5], c4),
                (nfkd, [c1, c2, c3, c4, c5], c5),
            ]
            for (normalizer, inputs, expected) in checks {
                for input in inputs {
                    let got = try normalizer.normalize(scalars: input)
                    if got != expected {
                        failures += 1
                        if failures < 20 {
                            XCTFail("\(part) \(normalizer.options.summary)(\(hex(input))) = \(hex(got)), expected \(hex(expected))")
                        }
                    }
                }
            }
        }
        XCTAssertGreaterThan(lines, 19_000, "the test file looks truncated")
        XCTAssertGreaterThan(part1.count, 10_000)
        // Part 1 rule: every code point not listed in part 1 is its own normalization under all four forms.
        var invariantChecked = 0
        for value in UInt32(0)...0x10FFFF where !part1.contains(value) {
            guard let s = Unicode.Scalar(value) else { continue }
            for normalizer in [nfc, nfd, nfkc, nfkd] {
                let got = try normalizer.normalize(scalars: CollectionOfOne(s))
                if got.count != 1 || got[0] != s {
                    failures += 1
                    if failures < 20 { XCTFail("\(normalizer.options.summary)(\(hex([s]))) = \(hex(got)), expected it unchanged") }
                }
            }
            invariantChecked += 1
        }
        XCTAssertGreaterThan(invariantChecked, 1_000_000)
        XCTAssertEqual(failures, 0)
    }

    private func hex(_ scalars: [Unicode.Scalar]) -> String {
        scalars.map { String($0.value, radix: 16, uppercase: true) }.joined(separator: " ")
    }
}
