import XCTest
@testable import Quill

/// `TrainingSpeedProbe`: a figure for the rules, and the same one on every rank.
final class TrainingSpeedProbeTests: XCTestCase {
    func small() -> TrainingConfiguration {
        var c = TrainingConfiguration()
        c.embeddingSize = 4
        c.batch = 4
        c.seq = 8
        return c
    }

    func testTheProbeMeasuresAPositiveSpeed() {
        let speed = TrainingSpeedProbe.charactersPerSecond(hiddenSize: 16, layers: 2, vocabularySize: 30, configuration: small())
        XCTAssertTrue(speed.isFinite && speed > 0, "\(speed)")
    }

    func testEveryRankTakesRankZerosFigureSoTheyChooseAlike() {
        // Rank 1 of 2 times its own two lanes but returns what rank 0 broadcasts.
        let rankOne = FixedBroadcast(rank: 1, rankZeroValue: 12_345)
        let speed = TrainingSpeedProbe.charactersPerSecond(hiddenSize: 16, layers: 2, vocabularySize: 30,
                                                           configuration: small(), communicator: rankOne)
        XCTAssertEqual(speed, 12_345)
        XCTAssertEqual(rankOne.broadcasts, 1, "one collective call, the broadcast")
        // Rank 0 sends its own lanes' speed times the number of ranks.
        let rankZero = FixedBroadcast(rank: 0, rankZeroValue: nil)
        let sent = TrainingSpeedProbe.charactersPerSecond(hiddenSize: 16, layers: 2, vocabularySize: 30,
                                                          configuration: small(), communicator: rankZero)
        XCTAssertTrue(sent.isFinite && sent > 0, "\(sent)")
        XCTAssertEqual(rankZero.broadcasts, 1)
    }
}

/// One rank of two whose broadcast returns a fixed rank-0 value (or, on rank 0, its own).
private final class FixedBroadcast: Communicator {
    let rank: Int
    let rankZeroValue: Double?
    var broadcasts = 0
    var size: Int { 2 }
    init(rank: Int, rankZeroValue: Double?) {
        self.rank = rank
        self.rankZeroValue = rankZeroValue
    }
    func sumInRankOrder(_ buffer: UnsafeMutableBufferPointer<Float>) { XCTFail("the probe must not sum across ranks") }
    func allGather(_ bytes: [UInt8]) -> [[UInt8]] { [bytes, bytes] }
    func broadcast(_ bytes: [UInt8]) -> [UInt8] {
        broadcasts += 1
        guard let rankZeroValue else { return bytes }
        return withUnsafeBytes(of: rankZeroValue.bitPattern.littleEndian) { Array($0) }
    }
}
