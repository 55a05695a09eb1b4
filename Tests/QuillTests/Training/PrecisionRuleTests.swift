import Foundation
import XCTest
@testable import Quill

/// `PrecisionRule`: bfloat16 on an AMD CPU with AVX-512 BF16, float32 elsewhere, from the CPU alone.
final class PrecisionRuleTests: XCTestCase {
    func testBFloat16OnlyOnAnAMDCPUWithAVX512BF16() {
        XCTAssertEqual(PrecisionRule.decide(bfloat16Available: true, vendor: "AuthenticAMD"), .bfloat16)  // the Zen 5 EPYC
        XCTAssertEqual(PrecisionRule.decide(bfloat16Available: true, vendor: "GenuineIntel"), .float32)  // the Emerald Rapids Xeon
        XCTAssertEqual(PrecisionRule.decide(bfloat16Available: false, vendor: "AuthenticAMD"), .float32)
        XCTAssertEqual(PrecisionRule.decide(bfloat16Available: true, vendor: ""), .float32)
        XCTAssertEqual(PrecisionRule.decide(bfloat16Available: true, vendor: "HygonGenuine"), .float32, "measured nowhere: the exact one")
    }

    /// The vendor read from CPUID against the kernel's own reading of it.
    func testTheVendorIsTheOneLinuxReports() throws {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("vendor_id") }) else {
            throw XCTSkip("no vendor_id in /proc/cpuinfo on this machine")
        }
        let reported = line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) }
        XCTAssertEqual(PrecisionRule.cpuVendor, reported)
        XCTAssertEqual(PrecisionRule.cpuVendor.utf8.count, 12)
    }

    func testTheChoiceIsTheCPUsAndSaysWhy() {
        let choice = PrecisionRule.choose()
        XCTAssertEqual(choice.precision, PrecisionRule.decide(bfloat16Available: ComputePrecision.bfloat16Available,
                                                              vendor: PrecisionRule.cpuVendor))
        XCTAssertTrue(choice.reason.hasPrefix(choice.precision.rawValue + ": "), choice.reason)
        XCTAssertTrue(choice.reason.hasSuffix("(--precision sets it)"), choice.reason)
        if !ComputePrecision.bfloat16Available { XCTAssertTrue(choice.reason.contains("no AVX-512 BF16"), choice.reason) }
        XCTAssertEqual(PrecisionRule.choose(), choice, "nothing timed: the same choice and words at every start")
    }

    func testEveryRankTakesRankZerosChoice() {
        for (sent, expected) in [(1.0, ComputePrecision.bfloat16), (0.0, .float32)] {
            let rankOne = ScriptedBroadcast(values: [sent])
            let choice = PrecisionRule.choose(communicator: rankOne)
            XCTAssertEqual(choice.precision, expected, "whatever rank 1's own CPU is")
            XCTAssertEqual(rankOne.broadcasts, 1)
            XCTAssertTrue(choice.reason.hasPrefix(expected.rawValue + ": rank 0's choice"), choice.reason)
        }
    }
}

/// Rank 1 of 2, whose broadcasts return rank 0's scripted values in turn (an Int is sent as its bits).
private final class ScriptedBroadcast: Communicator {
    var values: [Double]
    var broadcasts = 0
    var rank: Int { 1 }
    var size: Int { 2 }
    init(values: [Double]) { self.values = values }
    func sumInRankOrder(_ buffer: UnsafeMutableBufferPointer<Float>) { XCTFail("the rule must not sum across ranks") }
    func allGather(_ bytes: [UInt8]) -> [[UInt8]] { [bytes, bytes] }
    func broadcast(_ bytes: [UInt8]) -> [UInt8] {
        broadcasts += 1
        XCTAssertEqual(bytes.count, 8, "one Int")
        return withUnsafeBytes(of: Int64(values.removeFirst()).littleEndian) { Array($0) }
    }
}
