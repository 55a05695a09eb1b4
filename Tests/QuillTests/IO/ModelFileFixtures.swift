import Foundation
@testable import Quill

/// Small models and hand-made files shared by the IO tests.
enum ModelFileFixtures {
    /// The small shape used by the hostile-input tests: V=5, E=3, H=4, L=2.
    static let smallConfiguration = ModelConfiguration(vocabularySize: 5, embeddingSize: 3, hiddenSize: 4, layers: 2, dropout: 0.1)

    /// A model with seeded random weights plus edge values (-0.0, subnormals, extremes) at fixed places.
    static func smallModel(seed: UInt64 = 1, configuration: ModelConfiguration = smallConfiguration) -> ModelFile {
        let layout = ParameterLayout(configuration)
        let weights = ParameterBuffer(layout: layout)
        var rng = QuillRandom(seed: seed)
        for i in 0..<weights.count { weights.pointer[i] = rng.nextUnitFloat() * 2 - 1 }
        let edges: [Float] = [-0.0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, Float(bitPattern: 0x007F_FFFF),
                              .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNormalMagnitude, 0]
        for (k, value) in edges.enumerated() where k < weights.count { weights.pointer[k * 3 % weights.count] = value }
        let scalars = "\nab\u{E9}\u{1F600}".unicodeScalars.prefix(configuration.vocabularySize - 1)
        return ModelFile(configuration: configuration, vocabulary: Vocabulary(scalars: scalars),
                         textOptions: TextOptions(form: .nfkc, caseFold: true), weights: weights, step: 1234,
                         info: ["corpus": "tiny \"quoted\" \\ corpus\n", "validation_loss": "1.25"])
    }

    /// The file bytes of `model` rebuilt with changed metadata and tensors.
    static func rebuilt(_ model: ModelFile,
                        metadata change: (inout [String: String]) -> Void = { _ in },
                        tensors changeTensors: (inout [SafeTensorsTensor]) -> Void = { _ in }) -> Data {
        var metadata = model.metadata
        change(&metadata)
        var tensors = model.weights.layout.slots.map { slot in
            SafeTensorsTensor(name: slot.name, dtype: .f32, shape: slot.shape,
                              bytes: Data(bytes: model.weights.view(slot), count: slot.count * 4))
        }
        changeTensors(&tensors)
        return SafeTensors.encode(tensors, metadata: metadata)
    }

    /// A file made of an 8-byte length, the given header text and data bytes.
    static func crafted(header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) -> Data {
        let headerBytes = Array(header.utf8)
        var out = Data()
        withUnsafeBytes(of: (declaredLength ?? UInt64(headerBytes.count)).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: headerBytes)
        out.append(contentsOf: data)
        return out
    }

    /// Little-endian bytes of floats.
    static func bytes(_ floats: [Float]) -> Data {
        var d = Data()
        for f in floats { withUnsafeBytes(of: f.bitPattern.littleEndian) { d.append(contentsOf: $0) } }
        return d
    }

    /// A fresh empty folder under the temporary directory.
    static func temporaryFolder(_ name: String = #function) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("quill-io-tests-\(getpid())")
            .appendingPathComponent(name.filter { $0.isLetter || $0.isNumber })
        try? FileManager.default.removeItem(at: url)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
