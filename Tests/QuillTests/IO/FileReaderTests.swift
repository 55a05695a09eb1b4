import Foundation
import Quill
import XCTest

final class FileReaderTests: XCTestCase {
    func testADeviceThatNeverEndsIsRefusedNotRead() {
        // /dev/urandom never reaches its end: reading it whole would never return.
        XCTAssertThrowsError(try ModelFile.read(from: URL(fileURLWithPath: "/dev/urandom"))) { error in
            XCTAssertEqual(error as? FileError, .notRegularFile(path: "/dev/urandom"))
            XCTAssertTrue("\(error)".contains("not a regular file"), "\(error)")
        }
        XCTAssertThrowsError(try SafeTensorsFile(contentsOf: URL(fileURLWithPath: "/dev/zero")))
    }
}
