import Foundation
@testable import Quill
import XCTest

/// Inputs the `training-state` fuzz target found to break the training-state reader, fed back as found.
final class TrainingStateFuzzRegressionTests: XCTestCase {
    /// A state whose settings claim the largest model they allow (16 layers, hidden 8,192,
    /// embedding 4,096), and which holds no tensor at all, made the reader allocate its weights
    /// and Adam moments (34 GB each) before it looked at the tensors: an allocation failure, a
    /// crash from a 1 KB file. The tensors are now checked first, so it is refused with a
    /// sentence and nothing is allocated.
    func testStateClaimingAHugeModelIsRefusedBeforeAnythingIsAllocated() throws {
        let url = FuzzInputs.reproducer("training-state", "huge-model-claim.safetensors")
        let data = try Data(contentsOf: url)
        XCTAssertEqual(data.count, 1136)
        XCTAssertThrowsError(try TrainingCheckpoint.read(from: url)) { error in
            guard case let CheckpointError.unreadable(path, reason) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, url.path)
            XCTAssertTrue(reason.hasPrefix("its tensor weights is missing or not F32 of shape ["), reason)
            XCTAssertTrue(String(describing: error).hasPrefix("The training state \(url.path) cannot be used: its tensor weights"), "\(error)")
        }
        // The same bytes through the entry point the fuzz target calls.
        let file = try SafeTensorsFile(data: data, name: "fuzz")
        XCTAssertTrue(file.tensors.isEmpty)
        XCTAssertThrowsError(try TrainingCheckpoint.read(file, path: "fuzz"))
    }
}
