import Foundation
@testable import Quill
import _QuillKernels
import XCTest

/// CRC-32C against its published check value, and the checksum Quill writes into tensor files.
final class DataChecksumTests: XCTestCase {
    func testCRC32CMatchesTheStandardCheckValueOnBothPaths() {
        let check = Array("123456789".utf8)
        check.withUnsafeBytes { raw in
            XCTAssertEqual(DataChecksum.crc32c(raw), 0xE306_9283)
            XCTAssertEqual(quill_crc32c_portable(0, raw.baseAddress, raw.count), 0xE306_9283)
        }
        // 32 zero bytes: the value listed in RFC 3720 (iSCSI), B.4.
        let zeros = [UInt8](repeating: 0, count: 32)
        zeros.withUnsafeBytes { XCTAssertEqual(DataChecksum.crc32c($0), 0x8A91_36AA) }
        // The instruction and the table agree on every length and alignment, and in pieces.
        var random = QuillRandom(seed: 9)
        let bytes = (0..<5000).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        bytes.withUnsafeBytes { raw in
            for (start, count) in [(0, 0), (1, 7), (3, 64), (5, 4993), (0, 5000)] {
                let part = UnsafeRawBufferPointer(rebasing: raw[start..<(start + count)])
                XCTAssertEqual(DataChecksum.crc32c(part), quill_crc32c_portable(0, part.baseAddress, part.count), "\(start)+\(count)")
            }
            let whole = DataChecksum.crc32c(raw)
            let pieces = DataChecksum.crc32c(UnsafeRawBufferPointer(rebasing: raw[1234...]),
                                             continuing: DataChecksum.crc32c(UnsafeRawBufferPointer(rebasing: raw[..<1234])))
            XCTAssertEqual(whole, pieces)
        }
    }

    private func sampleFile(checksum: Bool) -> Data {
        let floats: [Float] = (0..<64).map { Float($0) * 0.5 }
        return floats.withUnsafeBufferPointer { buffer in
            SafeTensors.encode([SafeTensorsTensor(name: "a", shape: [8, 8], floats: buffer),
                                .integers(name: "b", dtype: .u64, shape: [2], values: [UInt64(7), 9])],
                               metadata: ["format": "test", "step": "12"], checksum: checksum)
        }
    }

    func testAWrittenChecksumVerifiesAndAnyChangedByteIsRefused() throws {
        let data = sampleFile(checksum: true)
        let file = try SafeTensorsFile(data: data, name: "t")
        XCTAssertEqual(file.metadata[DataChecksum.metadataKey]?.count, 8)
        // Every byte of the data region, and a metadata value, is covered.
        for offset in [file.dataStart, file.dataStart + 100, data.count - 1] {
            var damaged = data
            damaged[offset] ^= 0x01
            XCTAssertThrowsError(try SafeTensorsFile(data: damaged, name: "t"), "byte \(offset)") { error in
                guard case SafeTensorsError.checksumMismatch = error else { return XCTFail("\(error)") }
                XCTAssertTrue("\(error)".contains("damaged"), "\(error)")
            }
        }
        let text = String(decoding: data, as: UTF8.self)
        let changedStep = Data(text.replacingOccurrences(of: "\"step\":\"12\"", with: "\"step\":\"13\"").utf8)
        XCTAssertThrowsError(try SafeTensorsFile(data: changedStep, name: "t"))
    }

    func testAFileWithoutAChecksumStillLoads() throws {
        let plain = sampleFile(checksum: false)
        let file = try SafeTensorsFile(data: plain, name: "t")
        XCTAssertNil(file.metadata[DataChecksum.metadataKey])
        // Identical apart from the metadata entry.
        let checked = try SafeTensorsFile(data: sampleFile(checksum: true), name: "t")
        XCTAssertEqual(file.floats(of: file.entry(named: "a")!), checked.floats(of: checked.entry(named: "a")!))
    }
}
