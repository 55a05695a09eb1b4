/// One setting of a training run: its name, default, accepted values, unit and meaning.
///
/// Each setting is declared once, in `TrainingSettings`; the configuration's defaults, its
/// validation, the command line's help and checks, and the comparison on resume all read it.
public struct TrainingSetting<Value: Equatable>: AnyTrainingSetting {
    /// The configuration field this setting fills, which is also its name (`hiddenSize`).
    public let name: String
    public let keyPath: WritableKeyPath<TrainingConfiguration, Value>
    public let defaultValue: Value
    /// What the setting does, one phrase.
    public let summary: String
    /// The unit of the value (`steps`, `seconds`), or empty for a plain number.
    public let unit: String
    /// The accepted values as a phrase that follows "use" (`a whole number from 1 to 8192`).
    public let rangeText: String
    /// The values people usually pick, or nil.
    public let typical: String?
    /// Whether a resumed run keeps the saved value (true for everything but the limits and the evaluation cadence).
    public let fixedOnResume: Bool
    /// Values just outside the range, as a user would type them, to test that each is refused.
    public let rejectedExamples: [String]
    /// How the default reads in help (`600 seconds`, `wsd`).
    public let defaultText: String
    /// For a setting added after training states were first written: the value a state that lacks it
    /// is read as, the one those runs trained with (`addedLater(readingAbsentAs:)`); nil for the others.
    public private(set) var absentValue: Value?
    private let accepts: @Sendable (Value) -> Bool

    init(_ keyPath: WritableKeyPath<TrainingConfiguration, Value>, name: String, default value: Value,
         summary: String, unit: String = "", range: String, typical: String? = nil, fixedOnResume: Bool = true,
         rejected: [String] = [], defaultText: String? = nil, accepts: @escaping @Sendable (Value) -> Bool) {
        self.keyPath = keyPath
        self.name = name
        defaultValue = value
        self.summary = summary
        self.unit = unit
        rangeText = range
        self.typical = typical
        self.fixedOnResume = fixedOnResume
        rejectedExamples = rejected
        self.defaultText = defaultText ?? (unit.isEmpty ? "\(value)" : "\(value) \(unit)")
        self.accepts = accepts
    }

    /// This setting, marked as added later: a training state that lacks it reads it as `value`, so it
    /// resumes as it trained even where today's default differs.
    func addedLater(readingAbsentAs value: Value) -> TrainingSetting {
        var setting = self
        setting.absentValue = value
        return setting
    }

    public var isAddedLater: Bool { absentValue != nil }

    /// Whether `value` is in the setting's range.
    public func contains(_ value: Value) -> Bool { accepts(value) }

    /// The reason `value` is refused, or nil when it is in range.
    public func problem(with value: Value, describedAs text: String? = nil) -> TrainingError? {
        accepts(value) ? nil : .settingOutOfRange(name: name, value: text ?? "\(value)", expected: rangeText)
    }

    public func check(_ configuration: TrainingConfiguration) throws {
        if let problem = problem(with: configuration[keyPath: keyPath]) { throw problem }
    }

    public func value(in configuration: TrainingConfiguration) -> String {
        let value = configuration[keyPath: keyPath]
        let mirror = Mirror(reflecting: value)
        guard mirror.displayStyle == .optional else { return "\(value)" }
        return mirror.children.first.map { "\($0.value)" } ?? "none"  // an optional setting as typed, not Optional(3)
    }

    public func copy(from source: TrainingConfiguration, to destination: inout TrainingConfiguration) {
        destination[keyPath: keyPath] = source[keyPath: keyPath]
    }

    public func differs(_ a: TrainingConfiguration, _ b: TrainingConfiguration) -> Bool {
        a[keyPath: keyPath] != b[keyPath: keyPath]
    }

    public func holdsDefault(_ configuration: TrainingConfiguration) -> Bool {
        configuration[keyPath: keyPath] == defaultValue
    }

    /// The help text: the summary, then the default, the range and the typical values.
    public var help: String {
        var text = "\(summary) (default \(defaultText); \(rangeText)"
        if let typical { text += "; typical \(typical)" }
        return text + ")."
    }
}

/// A training setting of any value type, for lists of them.
public protocol AnyTrainingSetting: Sendable {
    var name: String { get }
    var summary: String { get }
    var unit: String { get }
    var rangeText: String { get }
    var typical: String? { get }
    var defaultText: String { get }
    var fixedOnResume: Bool { get }
    /// Whether training states written before this setting existed lack it (`TrainingSetting.absentValue`).
    var isAddedLater: Bool { get }
    var rejectedExamples: [String] { get }
    var help: String { get }
    /// Throws `TrainingError.settingOutOfRange` when the configuration's value is out of range.
    func check(_ configuration: TrainingConfiguration) throws
    /// The configuration's value as text.
    func value(in configuration: TrainingConfiguration) -> String
    /// Sets `destination`'s value to `source`'s.
    func copy(from source: TrainingConfiguration, to destination: inout TrainingConfiguration)
    /// Whether the two configurations disagree on this setting.
    func differs(_ a: TrainingConfiguration, _ b: TrainingConfiguration) -> Bool
    /// Whether the configuration's value is the setting's default.
    func holdsDefault(_ configuration: TrainingConfiguration) -> Bool
    /// Sets the configuration's value from the container's member of the setting's name.
    func decode(from container: KeyedDecodingContainer<TrainingSettingKey>, into configuration: inout TrainingConfiguration) throws
}

extension TrainingSetting: @unchecked Sendable {}

extension TrainingSetting where Value == Int {
    /// A whole number in `range`; `zeroMeans` says what 0 stands for, shown with the default when it is 0.
    init(_ keyPath: WritableKeyPath<TrainingConfiguration, Int>, name: String, default value: Int, summary: String,
         unit: String = "", range: ClosedRange<Int>, zeroMeans: String? = nil, typical: String? = nil,
         fixedOnResume: Bool = true, defaultText: String? = nil) {
        let text = "a whole number from \(range.lowerBound) to \(range.upperBound)"
        self.init(keyPath, name: name, default: value, summary: summary, unit: unit, range: text, typical: typical,
                  fixedOnResume: fixedOnResume, rejected: ["\(range.lowerBound - 1)", "\(range.upperBound + 1)"],
                  defaultText: defaultText ?? (value == 0 && zeroMeans != nil ? "0, \(zeroMeans!)" : nil),
                  accepts: { range.contains($0) })
    }
}

/// Where a real-valued range starts or ends, and whether it includes that end.
struct RealBound<F: BinaryFloatingPoint> {
    var value: F
    var included: Bool
    static func from(_ value: F) -> RealBound { RealBound(value: value, included: true) }
    static func above(_ value: F) -> RealBound { RealBound(value: value, included: false) }
    static func to(_ value: F) -> RealBound { RealBound(value: value, included: true) }
    static func below(_ value: F) -> RealBound { RealBound(value: value, included: false) }
}

extension TrainingSetting where Value: BinaryFloatingPoint & Sendable, Value: LosslessStringConvertible {
    /// A finite real number between `lower` and `upper` (no upper bound when nil).
    init(_ keyPath: WritableKeyPath<TrainingConfiguration, Value>, name: String, default value: Value, summary: String,
         unit: String = "", lower: RealBound<Value>, upper: RealBound<Value>?, typical: String? = nil,
         fixedOnResume: Bool = true, defaultText: String? = nil, rangeText: String? = nil) {
        let low = lower.value, high = upper?.value, lowIn = lower.included, highIn = upper?.included ?? true
        var text = "a number " + (lowIn ? "from " : "above ") + Self.decimal(low)
        if let high { text += (highIn ? " up to " : ", below ") + Self.decimal(high) }
        if !unit.isEmpty { text += " \(unit)" }
        var rejected = [lowIn ? Self.decimal(low - 1) : Self.decimal(low)]
        if let high { rejected.append(highIn ? Self.decimal(high + 1) : Self.decimal(high)) }
        let shown = Self.decimal(value)
        self.init(keyPath, name: name, default: value, summary: summary, unit: unit, range: rangeText ?? text,
                  typical: typical, fixedOnResume: fixedOnResume, rejected: rejected,
                  defaultText: defaultText ?? (unit.isEmpty ? shown : "\(shown) \(unit)"),
                  accepts: { x in
                      guard x.isFinite, lowIn ? x >= low : x > low else { return false }
                      guard let high else { return true }
                      return highIn ? x <= high : x < high
                  })
    }
}

extension TrainingSetting where Value: BinaryFloatingPoint & Sendable, Value: LosslessStringConvertible {
    /// `x` as a user would type it: `5` rather than `5.0`.
    public static func decimal(_ x: Value) -> String {
        x == x.rounded() && abs(x) < 1e15 ? "\(Int64(x))" : "\(x)"
    }
}

extension TrainingSetting where Value: CaseIterable & RawRepresentable, Value.RawValue == String {
    /// One of the type's cases.
    init(_ keyPath: WritableKeyPath<TrainingConfiguration, Value>, name: String, default value: Value, summary: String,
         defaultText: String? = nil) {
        self.init(keyPath, name: name, default: value, summary: summary,
                  range: "one of " + Value.allCases.map(\.rawValue).joined(separator: ", "),
                  defaultText: defaultText ?? value.rawValue, accepts: { _ in true })
    }
}
