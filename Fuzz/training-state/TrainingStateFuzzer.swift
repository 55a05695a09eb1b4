import Foundation
@testable import Quill

/// Fuzz target: the training-state reader (`TrainingCheckpoint.read`) on arbitrary bytes, as
/// `--resume` reads `training-state.safetensors` after the safetensors layer accepts it.
///
/// Properties: reading returns a checkpoint or throws an error whose message can be formed;
/// a checkpoint that loads holds finite weights and moments of its model's size.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTrainingState(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let path = "fuzz/training-state.safetensors"
    do {
        let file = try SafeTensorsFile(data: Data(fuzzInput(start, count)), name: path)
        let checkpoint = try TrainingCheckpoint.read(file, path: path)
        let layout = ParameterLayout(checkpoint.weights.layout.configuration)
        require(checkpoint.vocabulary.count == layout.configuration.vocabularySize, "the vocabulary disagrees with the model")
        for buffer in [checkpoint.weights, checkpoint.adamM, checkpoint.adamV] {
            require(buffer.layout == layout, "a parameter buffer has another layout")
            require(buffer.allFinite(), "a loaded parameter buffer holds a non-finite value")
        }
    } catch {
        require(!String(describing: error).isEmpty, "an error without a message")
    }
    return 0
}
