import Foundation
@testable import Quill

/// Fuzz target: the safetensors reader (`SafeTensorsFile`), its header length, its strict JSON
/// header (`StrictJSON`) and the checks of every entry against the data region.
///
/// Properties: reading returns a validated file or throws an error whose message can be
/// formed; every tensor of a file that loads lies inside the data region with the byte count
/// its dtype and shape give; and writing the tensors and metadata again with
/// `SafeTensors.encode` gives a file that reads back to the same tensors, metadata and bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let file: SafeTensorsFile
    do {
        file = try SafeTensorsFile(data: Data(fuzzInput(start, count)), name: "fuzz.safetensors")
    } catch {
        require(!String(describing: error).isEmpty, "an error without a message")
        return 0
    }
    var tensors: [SafeTensorsTensor] = []
    for entry in file.tensors {
        let bytes = file.data(of: entry)
        require(bytes.count == entry.elementCount * entry.dtype.size, "tensor \(entry.name) holds \(bytes.count) bytes")
        require(file.dataStart + entry.dataOffsets.upperBound <= count, "tensor \(entry.name) ends past the file")
        if entry.dtype == .f32 {
            let floats = file.floats(of: entry)
            require(floats.count == entry.elementCount, "tensor \(entry.name) gives \(floats.count) floats")
        }
        tensors.append(SafeTensorsTensor(name: entry.name, dtype: entry.dtype, shape: entry.shape, bytes: bytes))
    }
    let rewritten = SafeTensors.encode(tensors, metadata: file.metadata)
    do {
        let again = try SafeTensorsFile(data: rewritten, name: "rewritten.safetensors")
        require(again.metadata == file.metadata, "the metadata changed on rewrite")
        require(again.tensors.count == file.tensors.count, "the tensor count changed on rewrite")
        for (a, b) in zip(again.tensors, file.tensors) {
            require(a.name == b.name && a.dtype == b.dtype && a.shape == b.shape && a.dataOffsets == b.dataOffsets,
                    "tensor \(b.name) changed on rewrite")
            require(again.data(of: a) == file.data(of: b), "the bytes of tensor \(b.name) changed on rewrite")
        }
    } catch {
        require(false, "a rewritten file does not load: \(error)")
    }
    return 0
}
