import XCTest
@testable import Quill

/// `PrecisionRule`: the faster kind of product on this CPU, with a margin that keeps bfloat16 on a near tie.
final class PrecisionRuleTests: XCTestCase {
    func testFloat32OnlyWhenItsProductsAreClearlyFaster() {
        XCTAssertEqual(PrecisionRule.decide(float32: 60, bfloat16: 40), .float32)  // the Emerald Rapids Xeon
        XCTAssertEqual(PrecisionRule.decide(float32: 40, bfloat16: 80), .bfloat16)  // a CPU with fast BF16 pairs
        XCTAssertEqual(PrecisionRule.decide(float32: 45, bfloat16: 40), .bfloat16, "1.125 times is within the margin")
        XCTAssertEqual(PrecisionRule.decide(float32: 46, bfloat16: 40), .float32, "1.15 times is the margin")
    }

    func testTheChoiceMatchesTheKernelsMeasuredAndSaysWhy() {
        let choice = PrecisionRule.choose()
        guard let speeds = PrecisionRule.kernelSpeeds else {
            XCTAssertFalse(ComputePrecision.bfloat16Available)
            XCTAssertEqual(choice.precision, .float32)
            XCTAssertTrue(choice.reason.contains("no AVX-512 BF16"), choice.reason)
            return
        }
        XCTAssertTrue(speeds.float32 > 0 && speeds.bfloat16 > 0 && speeds.float32.isFinite && speeds.bfloat16.isFinite)
        XCTAssertEqual(choice.precision, PrecisionRule.decide(float32: speeds.float32, bfloat16: speeds.bfloat16))
        XCTAssertTrue(choice.reason.hasPrefix(choice.precision.rawValue + ":"), choice.reason)
        XCTAssertTrue(choice.reason.contains(String(format: "%.1f and %.1f", speeds.float32, speeds.bfloat16)), choice.reason)
    }

    func testEveryRankTakesRankZerosFigures() {
        // Rank 1 is told bfloat16 runs and its products are twice as fast as float32's: it chooses bfloat16
        // whatever its own CPU measured, after the same three broadcasts rank 0 makes.
        let rankOne = ScriptedBroadcast(values: [1, 30, 60])
        XCTAssertEqual(PrecisionRule.choose(communicator: rankOne).precision, .bfloat16)
        XCTAssertEqual(rankOne.broadcasts, 3)
        let told = ScriptedBroadcast(values: [1, 60, 30])
        XCTAssertEqual(PrecisionRule.choose(communicator: told).precision, .float32)
        // Rank 0 without AVX-512 BF16: every rank trains in float32.
        let without = ScriptedBroadcast(values: [0, 0, 0])
        let choice = PrecisionRule.choose(communicator: without)
        XCTAssertEqual(choice.precision, .float32)
        XCTAssertEqual(without.broadcasts, 3)
    }
}

/// Rank 1 of 2, whose broadcasts return rank 0's scripted values in turn (an Int is sent as a Double's bits too).
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
        let value = values.removeFirst()
        if bytes.count == 8, broadcasts == 1 {
            return withUnsafeBytes(of: Int64(value).littleEndian) { Array($0) }
        }
        return withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) }
    }
}
