import Foundation
import Quill
import XCTest

/// A timing printed for reports, not asserted; runs only when `QUILL_SAMPLING_SPEED=1`.
///
/// `QUILL_SAMPLING_SPEED=1 swift test -c release --filter SamplingSpeedReport`; `QUILL_SAMPLING_ONLY="T=1"` picks one configuration.
final class SamplingSpeedReport: XCTestCase {
    func testPrintNanosecondsPerToken() throws {
        try XCTSkipUnless(ProcessInfo.processInfo.environment["QUILL_SAMPLING_SPEED"] == "1", "set QUILL_SAMPLING_SPEED=1")
        let v = 65
        var random = QuillRandom(seed: 1)
        let logits = (0..<v).map { _ in Float(random.nextUnitDouble() * 6 - 3) }
        let configurations: [(String, SamplingSettings)] = [
            ("T=1", .unchanged),
            ("T=0.8 top-k 40", try SamplingSettings(temperature: 0.8, topK: 40)),
            ("T=0.8 top-p 0.9", try SamplingSettings(temperature: 0.8, topP: 0.9)),
            ("greedy", try SamplingSettings(temperature: 0)),
        ]
        let only = ProcessInfo.processInfo.environment["QUILL_SAMPLING_ONLY"]
        for (name, settings) in configurations where only == nil || only == name {
            let sampler = TokenSampler(vocabularySize: v, settings: settings)
            let tokens = 1_000_000
            var checksum = 0
            let start = DispatchTime.now().uptimeNanoseconds
            logits.withUnsafeBufferPointer { row in
                for _ in 0..<tokens { checksum &+= Int(sampler.sample(logits: row.baseAddress!, random: &random)) }
            }
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start)
            print("sampling V=\(v) \(name): \(String(format: "%.1f", elapsed / Double(tokens))) ns per token (checksum \(checksum))")
        }
    }
}
