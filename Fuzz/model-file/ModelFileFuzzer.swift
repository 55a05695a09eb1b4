import Foundation
@testable import Quill

/// Fuzz target: the model-file reader (`ModelFile.decode`) on arbitrary bytes.
///
/// Properties: decoding returns a model or throws an error whose message can be formed; a
/// model that loads writes back to bytes that load to the same model, bit for bit.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzModelFile(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = Data(fuzzInput(start, count))
    let model: ModelFile
    do {
        model = try ModelFile.decode(data, name: "fuzz.safetensors")
    } catch {
        require(!String(describing: error).isEmpty, "an error without a message")
        return 0
    }
    let rewritten: Data
    do {
        rewritten = try model.data()
    } catch {
        require(false, "a model that loads cannot be written back: \(error)")
        return 0
    }
    do {
        let again = try ModelFile.decode(rewritten, name: "rewritten.safetensors")
        require(again.configuration == model.configuration, "the configuration changed on rewrite")
        require(again.vocabulary.scalars == model.vocabulary.scalars, "the vocabulary changed on rewrite")
        require(again.textOptions == model.textOptions, "the text options changed on rewrite")
        require(again.step == model.step, "the step changed on rewrite")
        require(again.info == model.info, "the info entries changed on rewrite")
        let a = UnsafeBufferPointer(start: model.weights.pointer, count: model.weights.count)
        let b = UnsafeBufferPointer(start: again.weights.pointer, count: again.weights.count)
        require(a.elementsEqual(b) { $0.bitPattern == $1.bitPattern }, "the weights changed on rewrite")
    } catch {
        require(false, "a rewritten model does not load: \(error)")
    }
    return 0
}
