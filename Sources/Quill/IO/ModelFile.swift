import Foundation

/// A trained Quill model as one self-contained safetensors file: weights, vocabulary, text options, shape and step.
///
/// ## Tensors
/// Every tensor is `F32`, little-endian, row-major, named and shaped exactly as the state dict of
/// a PyTorch module with `embedding = nn.Embedding(V, E)`,
/// `lstm = nn.LSTM(E, H, L, batch_first=True)` and `decoder = nn.Linear(H, V)`:
///
/// | tensor | shape |
/// |---|---|
/// | `embedding.weight` | [V, E] |
/// | `lstm.weight_ih_l{k}` | [4H, E for k = 0, else H] |
/// | `lstm.weight_hh_l{k}` | [4H, H] |
/// | `lstm.bias_ih_l{k}`, `lstm.bias_hh_l{k}` | [4H] |
/// | `decoder.weight` | [V, H] |
/// | `decoder.bias` | [V] |
///
/// They are stored in that order (the order of `ParameterLayout`), so the data region is the
/// parameter buffer itself. `safetensors.torch.load_file(path)` then
/// `module.load_state_dict(..., strict=True)` loads them as they are.
///
/// ## Metadata (`__metadata__`, every value a string)
/// | key | value |
/// |---|---|
/// | `format` | `quill.char-lstm` |
/// | `format_version` | `1` |
/// | `vocab_size` | V, decimal, `[DOC]` included |
/// | `embed_size` | E, decimal |
/// | `hidden_size` | H, decimal |
/// | `layers` | L, decimal |
/// | `dropout` | training dropout probability, decimal (such as `0.1`) |
/// | `normalization` | `NFC`, `NFD`, `NFKC` or `NFKD` |
/// | `case_fold` | `true` or `false` |
/// | `vocabulary` | JSON array of the code points of ids 1 to V-1, strictly increasing, such as `[10,32,97]`; id 0 is `[DOC]` and is not listed |
/// | `step` | training step the weights come from, decimal (`0` if untrained) |
/// | `info.<key>` | free-form entries (corpus name, validation loss, ...) |
/// | `data_crc32c` | the `DataChecksum` of the other entries and the data, 8 hex digits; optional on reading |
///
/// Loading rejects any other key, so a file never carries settings that are silently ignored.
/// Reading checks, before anything is used: the safetensors structure (`SafeTensorsError`), then
/// the format name and version, that every metadata value parses, that the vocabulary is
/// strictly increasing valid scalars with one fewer entry than `vocab_size`, that the shape is
/// sensible (`ModelConfiguration.validate()`), that every expected tensor is present as `F32` with
/// its shape and no other tensor is, and that every weight is finite (`ModelFileError`).
public struct ModelFile {
    public var configuration: ModelConfiguration
    public var vocabulary: Vocabulary
    public var textOptions: TextOptions
    /// Every parameter; `weights.layout == ParameterLayout(configuration)`.
    public var weights: ParameterBuffer
    /// Training step the weights come from (0 if untrained).
    public var step: Int
    /// Free-form extra metadata (corpus name, validation loss, ...), stored under `info.`.
    public var info: [String: String]

    /// The value of the `format` metadata entry.
    public static let formatName = "quill.char-lstm"
    /// The value of the `format_version` metadata entry this code writes and reads.
    public static let formatVersion = "1"
    /// Prefix of the free-form `info` entries in the metadata.
    public static let infoPrefix = "info."

    /// Metadata keys, other than `info.` entries, that a model file holds.
    public static let metadataKeys = [
        "format", "format_version", "vocab_size", "embed_size", "hidden_size", "layers", "dropout",
        "normalization", "case_fold", "vocabulary", "step", DataChecksum.metadataKey,
    ]

    public init(configuration: ModelConfiguration, vocabulary: Vocabulary, textOptions: TextOptions,
                weights: ParameterBuffer, step: Int = 0, info: [String: String] = [:]) {
        precondition(weights.layout == ParameterLayout(configuration), "the weights do not have the layout of \(configuration)")
        precondition(step >= 0, "negative training step \(step)")
        self.configuration = configuration
        self.vocabulary = vocabulary
        self.textOptions = textOptions
        self.weights = weights
        self.step = step
        self.info = info
    }

    // MARK: Writing

    /// The file bytes.
    ///
    /// - Throws: `ModelFileError` if the model cannot be read back: a bad configuration, a
    ///   vocabulary whose size disagrees with it, or a non-finite weight.
    public func data() throws -> Data {
        try encode(name: "(unsaved model)")
    }

    /// Writes the file atomically: the old file at `url`, if any, stays whole if anything fails.
    ///
    /// - Throws: `ModelFileError` as `data()` does, or `FileError` if the file cannot be written.
    public func write(to url: URL) throws {
        try AtomicFile.write(encode(name: url.path), to: url)
    }

    /// The metadata entries written to the file.
    public var metadata: [String: String] {
        var m: [String: String] = [
            "format": Self.formatName,
            "format_version": Self.formatVersion,
            "vocab_size": String(configuration.vocabularySize),
            "embed_size": String(configuration.embeddingSize),
            "hidden_size": String(configuration.hiddenSize),
            "layers": String(configuration.layers),
            "dropout": configuration.dropout.description,
            "normalization": textOptions.form.displayName,
            "case_fold": textOptions.caseFold ? "true" : "false",
            "vocabulary": JSONText.integers(vocabulary.scalars.map(\.value)),
            "step": String(step),
        ]
        for (key, value) in info { m[Self.infoPrefix + key] = value }
        return m
    }

    func encode(name: String) throws -> Data {
        do {
            try configuration.validate()
        } catch let error as ModelConfigurationError {
            throw ModelFileError.badConfiguration(file: name, error)
        }
        guard vocabulary.count == configuration.vocabularySize else {
            throw ModelFileError.vocabularySizeMismatch(file: name, vocabularySize: configuration.vocabularySize, listed: vocabulary.scalars.count)
        }
        precondition(weights.layout == ParameterLayout(configuration), "the weights do not have the layout of \(configuration)")
        try Self.checkFinite(weights, file: name)
        let tensors = weights.layout.slots.map { slot in
            SafeTensorsTensor(name: slot.name, shape: slot.shape,
                              floats: UnsafeBufferPointer(start: weights.view(slot), count: slot.count))
        }
        return withExtendedLifetime(weights) { SafeTensors.encode(tensors, metadata: metadata, checksum: true) }
    }

    // MARK: Reading

    /// Reads and fully checks the model file at `url`.
    ///
    /// - Throws: `FileError` if it cannot be read, `SafeTensorsError` if it is not valid
    ///   safetensors, `ModelFileError` if it is not a valid Quill model.
    public static func read(from url: URL) throws -> ModelFile {
        try decode(FileReader.read(url), name: url.path)
    }

    /// Checks and decodes the bytes of a model file; `name` is used in error messages.
    ///
    /// - Throws: `SafeTensorsError` or `ModelFileError` naming the first problem found.
    public static func decode(_ data: Data, name: String) throws -> ModelFile {
        let file = try SafeTensorsFile(data: data, name: name)
        let meta = file.metadata

        guard file.hasMetadata, let format = meta["format"] else {
            throw ModelFileError.notQuillModel(file: name, found: nil)
        }
        guard format == formatName else { throw ModelFileError.notQuillModel(file: name, found: format) }
        guard let version = meta["format_version"] else { throw ModelFileError.missingMetadata(file: name, key: "format_version") }
        guard version == formatVersion else { throw ModelFileError.unsupportedVersion(file: name, version: version) }

        var info: [String: String] = [:]
        for (key, value) in meta.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            if key.hasPrefix(infoPrefix) {
                info[String(key.dropFirst(infoPrefix.count))] = value
            } else if !metadataKeys.contains(where: { $0.utf8.elementsEqual(key.utf8) }) {
                throw ModelFileError.unknownMetadata(file: name, key: key)
            }
        }

        func value(_ key: String) throws -> String {
            guard let v = meta[key] else { throw ModelFileError.missingMetadata(file: name, key: key) }
            return v
        }
        func integer(_ key: String) throws -> Int {
            let text = try value(key)
            guard let n = StrictJSON.parseDigits(text) else {
                throw ModelFileError.badMetadata(file: name, key: key, value: text, expected: "a non-negative decimal integer")
            }
            return n
        }

        let vocabularySize = try integer("vocab_size")
        let embeddingSize = try integer("embed_size")
        let hiddenSize = try integer("hidden_size")
        let layers = try integer("layers")
        let dropoutText = try value("dropout")
        guard let dropout = Float(dropoutText), dropoutText.utf8.allSatisfy({ Self.isDecimalByte($0) }) else {
            throw ModelFileError.badMetadata(file: name, key: "dropout", value: dropoutText, expected: "a decimal number such as 0.1")
        }
        let configuration = ModelConfiguration(vocabularySize: vocabularySize, embeddingSize: embeddingSize,
                                               hiddenSize: hiddenSize, layers: layers, dropout: dropout)
        do {
            try configuration.validate()
        } catch let error as ModelConfigurationError {
            throw ModelFileError.badConfiguration(file: name, error)
        }

        let normalizationText = try value("normalization")
        guard let form = NormalizationForm.allCases.first(where: { $0.displayName == normalizationText }) else {
            throw ModelFileError.badMetadata(file: name, key: "normalization", value: normalizationText, expected: "NFC, NFD, NFKC or NFKD")
        }
        let caseFoldText = try value("case_fold")
        guard caseFoldText == "true" || caseFoldText == "false" else {
            throw ModelFileError.badMetadata(file: name, key: "case_fold", value: caseFoldText, expected: "true or false")
        }
        let step = try integer("step")
        let vocabulary = try parseVocabulary(try value("vocabulary"), file: name)
        guard vocabulary.count == vocabularySize else {
            throw ModelFileError.vocabularySizeMismatch(file: name, vocabularySize: vocabularySize, listed: vocabulary.scalars.count)
        }

        // Every tensor must be there with its exact type and shape before anything is allocated.
        let layout = ParameterLayout(configuration)
        var entries: [SafeTensorsEntry] = []
        for slot in layout.slots {
            guard let entry = file.entry(named: slot.name) else { throw ModelFileError.missingTensor(file: name, tensor: slot.name) }
            guard entry.dtype == .f32 else { throw ModelFileError.wrongDType(file: name, tensor: slot.name, dtype: entry.dtype.rawValue) }
            guard entry.shape == slot.shape else {
                throw ModelFileError.wrongShape(file: name, tensor: slot.name, expected: slot.shape, actual: entry.shape)
            }
            entries.append(entry)
        }
        for entry in file.tensors where layout.slots.first(where: { $0.name.utf8.elementsEqual(entry.name.utf8) }) == nil {
            throw ModelFileError.unexpectedTensor(file: name, tensor: entry.name)
        }

        let weights = ParameterBuffer(layout: layout)
        for (slot, entry) in zip(layout.slots, entries) {
            file.copyFloats(of: entry, to: weights.view(slot))
        }
        try checkFinite(weights, file: name)

        var model = ModelFile(configuration: configuration, vocabulary: vocabulary,
                              textOptions: TextOptions(form: form, caseFold: caseFoldText == "true"),
                              weights: weights, step: step)
        model.info = info
        return model
    }

    private static func isDecimalByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: ".") || b == UInt8(ascii: "e")
            || b == UInt8(ascii: "E") || b == UInt8(ascii: "-") || b == UInt8(ascii: "+")
    }

    /// The vocabulary from its metadata text: a JSON array of strictly increasing code points.
    static func parseVocabulary(_ text: String, file: String) throws -> Vocabulary {
        let json: JSONValue
        do {
            json = try StrictJSON.parse(Array(text.utf8))
        } catch let error as JSONParseError {
            throw ModelFileError.badVocabulary(file: file, reason: "it is not valid JSON (\(error.reason))")
        }
        guard case let .array(items) = json else {
            throw ModelFileError.badVocabulary(file: file, reason: "it is \(json.kindName), not an array of code points")
        }
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            guard let n = item.nonNegativeInteger, n <= 0x10FFFF, let scalar = Unicode.Scalar(UInt32(n)) else {
                throw ModelFileError.badVocabulary(file: file, reason: "entry \(i) is not a Unicode scalar value")
            }
            if let last = scalars.last, last.value >= scalar.value {
                throw ModelFileError.badVocabulary(file: file, reason: "entry \(i) (\(n)) does not follow \(last.value) in increasing order")
            }
            scalars.append(scalar)
        }
        return Vocabulary(scalars: scalars)
    }

    /// Throws for the first non-finite weight, naming its tensor and its index inside the tensor.
    static func checkFinite(_ weights: ParameterBuffer, file: String) throws {
        guard !weights.allFinite() else { return }
        for slot in weights.layout.slots {
            let p = weights.view(slot)
            for i in 0..<slot.count where !p[i].isFinite {
                throw ModelFileError.nonFiniteWeight(file: file, tensor: slot.name, index: i, value: p[i].description)
            }
        }
    }
}

/// A file that is valid safetensors but not a valid Quill model; each description names the file and the problem.
public enum ModelFileError: Error, Equatable, CustomStringConvertible {
    /// `found` is the file's `format` entry, or nil if it has none.
    case notQuillModel(file: String, found: String?)
    case unsupportedVersion(file: String, version: String)
    case missingMetadata(file: String, key: String)
    case unknownMetadata(file: String, key: String)
    case badMetadata(file: String, key: String, value: String, expected: String)
    case badVocabulary(file: String, reason: String)
    case vocabularySizeMismatch(file: String, vocabularySize: Int, listed: Int)
    case badConfiguration(file: String, ModelConfigurationError)
    case missingTensor(file: String, tensor: String)
    case unexpectedTensor(file: String, tensor: String)
    case wrongDType(file: String, tensor: String, dtype: String)
    case wrongShape(file: String, tensor: String, expected: [Int], actual: [Int])
    /// `index` counts elements inside the tensor, row-major; `value` is `nan`, `inf` or `-inf`.
    case nonFiniteWeight(file: String, tensor: String, index: Int, value: String)

    public var description: String {
        let rewrite = "the file is damaged or was written by another program; train or save the model again"
        switch self {
        case let .notQuillModel(file, found):
            let why = found.map { "its format is \"\(Self.clip($0))\"" } ?? "it has no \"format\" metadata"
            return "The file \(file) is a safetensors file but not a Quill model file (\(why), expected \"\(ModelFile.formatName)\"); pass a model written by quill train."
        case let .unsupportedVersion(file, version):
            return "The model file \(file) has format version \"\(Self.clip(version))\" but this Quill reads version \(ModelFile.formatVersion); use the Quill that wrote it or train again."
        case let .missingMetadata(file, key):
            return "The model file \(file) lacks the metadata entry \"\(key)\"; \(rewrite)."
        case let .unknownMetadata(file, key):
            return "The model file \(file) has the unknown metadata entry \"\(Self.clip(key))\"; free-form entries must start with \"\(ModelFile.infoPrefix)\"."
        case let .badMetadata(file, key, value, expected):
            return "The metadata entry \"\(key)\" of \(file) is \"\(Self.clip(value))\" but should be \(expected); \(rewrite)."
        case let .badVocabulary(file, reason):
            return "The vocabulary of \(file) is invalid: \(reason); \(rewrite)."
        case let .vocabularySizeMismatch(file, vocabularySize, listed):
            return "The model file \(file) declares \(vocabularySize) token ids but its vocabulary lists \(listed) characters plus [DOC]; \(rewrite)."
        case let .badConfiguration(file, error):
            return "The model shape in \(file) is invalid: \(error.description)"
        case let .missingTensor(file, tensor):
            return "The model file \(file) lacks the tensor \"\(tensor)\"; \(rewrite)."
        case let .unexpectedTensor(file, tensor):
            return "The model file \(file) has the unexpected tensor \"\(Self.clip(tensor))\", which its shape does not use; \(rewrite)."
        case let .wrongDType(file, tensor, dtype):
            return "The tensor \"\(tensor)\" in \(file) is \(dtype) but Quill stores F32; convert it with tensor.float() before saving."
        case let .wrongShape(file, tensor, expected, actual):
            return "The tensor \"\(tensor)\" in \(file) has shape \(actual) but the metadata implies \(expected); \(rewrite)."
        case let .nonFiniteWeight(file, tensor, index, value):
            return "The tensor \"\(tensor)\" of \(file) holds \(value) at element \(index); training diverged, so lower the learning rate and use an earlier checkpoint."
        }
    }

    /// A value shortened for a one-line message.
    private static func clip(_ text: String) -> String {
        text.count <= 60 ? text : String(text.prefix(57)) + "..."
    }
}
