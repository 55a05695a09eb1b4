/// A training setting's name as a coding key: the configuration is encoded field by field under these names.
public struct TrainingSettingKey: CodingKey {
    public var stringValue: String
    public var intValue: Int? { nil }
    public init(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { nil }
}

extension TrainingSettings {
    /// Settings that training states written before they existed lack; such a state reads each as
    /// its `absentValue`, the value those runs trained with, so it still resumes exactly.
    public static var addedLater: Set<String> { Set(all.filter(\.isAddedLater).map(\.name)) }
}

extension TrainingConfiguration {
    /// Reads each setting of the table under its name; a setting added later that is absent is read
    /// as its `absentValue`, an optional one (encoded only when set) as its default.
    ///
    /// - Throws: `DecodingError` for any other missing key or a value of the wrong type.
    public init(from decoder: any Decoder) throws {
        self.init()
        let container = try decoder.container(keyedBy: TrainingSettingKey.self)
        for setting in TrainingSettings.all {
            try setting.decode(from: container, into: &self)
        }
    }
}

extension TrainingSetting {
    public func decode(from container: KeyedDecodingContainer<TrainingSettingKey>,
                       into configuration: inout TrainingConfiguration) throws {
        let key = TrainingSettingKey(stringValue: name)
        let optional = Mirror(reflecting: defaultValue).displayStyle == .optional
        if !container.contains(key) {
            if let absentValue {
                configuration[keyPath: keyPath] = absentValue
                return
            }
            if optional { return }
        }
        guard let type = Value.self as? any Decodable.Type else {
            preconditionFailure("the setting \(name) is not Decodable")
        }
        guard let value = try type.init(from: container.superDecoder(forKey: key)) as? Value else {
            preconditionFailure("the setting \(name) decoded as another type")
        }
        configuration[keyPath: keyPath] = value
    }
}
