/// A training setting's name as a coding key: the configuration is encoded field by field under these names.
public struct TrainingSettingKey: CodingKey {
    public var stringValue: String
    public var intValue: Int? { nil }
    public init(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { nil }
}

extension TrainingSettings {
    /// Settings that training states written before they existed lack; such a state reads them as
    /// those runs trained (`TrainingConfiguration.asBeforeLaterSettings`), so it still resumes exactly.
    public static let addedLater: Set<String> = ["size", "dropoutMasks", "inputDropout", "weightDrop", "embeddingDropout"]
}

extension TrainingConfiguration {
    /// Reads each setting of the table under its name; a setting of `TrainingSettings.addedLater`
    /// that is absent is read as `asBeforeLaterSettings` has it, an optional one (encoded only when
    /// set) as its default.
    ///
    /// - Throws: `DecodingError` for any other missing key or a value of the wrong type.
    public init(from decoder: any Decoder) throws {
        self = .asBeforeLaterSettings
        let container = try decoder.container(keyedBy: TrainingSettingKey.self)
        for setting in TrainingSettings.all {
            try setting.decode(from: container, into: &self)
        }
    }

    /// The defaults, with the settings of `TrainingSettings.addedLater` as runs trained before they
    /// existed: every regularizer but dropout off, dropout masks drawn per step. (The defaults of
    /// some of them are now on; a state that lacks them must not start using them on resume.)
    static var asBeforeLaterSettings: TrainingConfiguration {
        var c = TrainingConfiguration()
        c.dropoutMasks = .step
        c.inputDropout = 0
        c.weightDrop = 0
        c.embeddingDropout = 0
        return c
    }
}

extension TrainingSetting {
    public func decode(from container: KeyedDecodingContainer<TrainingSettingKey>,
                       into configuration: inout TrainingConfiguration) throws {
        let key = TrainingSettingKey(stringValue: name)
        let optional = Mirror(reflecting: defaultValue).displayStyle == .optional
        if !container.contains(key) && (optional || TrainingSettings.addedLater.contains(name)) { return }
        guard let type = Value.self as? any Decodable.Type else {
            preconditionFailure("the setting \(name) is not Decodable")
        }
        guard let value = try type.init(from: container.superDecoder(forKey: key)) as? Value else {
            preconditionFailure("the setting \(name) decoded as another type")
        }
        configuration[keyPath: keyPath] = value
    }
}
