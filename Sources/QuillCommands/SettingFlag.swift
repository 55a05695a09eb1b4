import ArgumentParser
import Quill

/// A command-line option that sets one training setting of `TrainingSettings`.
///
/// The option itself is declared as an optional `@Option` (swift-argument-parser needs the
/// declaration written out); this binds it to its setting, so the help text, the range check,
/// the configuration and the comparison on resume all come from the one table.
struct SettingFlag<Command> {
    /// The flag as typed, such as `--hidden`.
    let flag: String
    let setting: any AnyTrainingSetting
    /// The value as the user typed it, or nil when the option was not given.
    let typed: (Command) -> String?
    /// The range problem of the given value, if any.
    let problem: (Command) -> TrainingError?
    /// Sets the configuration's value when the option was given.
    let apply: (Command, inout TrainingConfiguration) -> Void

    /// Binds an option whose value converts to the setting's value with `convert`.
    init<Option, Value>(_ flag: String, _ setting: TrainingSetting<Value>, _ option: @escaping (Command) -> Option?,
                        convert: @escaping (Option) -> Value, text: @escaping (Option) -> String = { "\($0)" }) {
        self.flag = flag
        self.setting = setting
        typed = { option($0).map(text) }
        problem = { command in option(command).flatMap { setting.problem(with: convert($0), describedAs: text($0)) } }
        apply = { command, configuration in
            if let value = option(command) { configuration[keyPath: setting.keyPath] = convert(value) }
        }
    }

    private init(flag: String, setting: any AnyTrainingSetting, typed: @escaping (Command) -> String?,
                 problem: @escaping (Command) -> TrainingError?, apply: @escaping (Command, inout TrainingConfiguration) -> Void) {
        self.flag = flag
        self.setting = setting
        self.typed = typed
        self.problem = problem
        self.apply = apply
    }

    /// The same binding for a command that holds this one's options as `part` (an option group).
    func lifted<Outer>(_ part: @escaping (Outer) -> Command) -> SettingFlag<Outer> {
        let typed = self.typed, problem = self.problem, apply = self.apply
        return SettingFlag<Outer>(flag: flag, setting: setting, typed: { typed(part($0)) }, problem: { problem(part($0)) },
                                  apply: { apply(part($0), &$1) })
    }

    /// Binds an option of the setting's own type.
    init<Value>(_ flag: String, _ setting: TrainingSetting<Value>, _ option: @escaping (Command) -> Value?) {
        self.init(flag, setting, option, convert: { $0 })
    }

    /// Binds a real-valued option, shown as typed (`1` rather than `1.0`).
    init<Value: BinaryFloatingPoint & LosslessStringConvertible & Sendable>(
        _ flag: String, _ setting: TrainingSetting<Value>, _ option: @escaping (Command) -> Value?) {
        self.init(flag, setting, option, convert: { $0 }, text: TrainingSetting<Value>.decimal)
    }
}

extension Array {
    /// The flag that sets the setting named `name`, or the name itself when no flag sets it.
    func flag<Command>(for name: String) -> String where Element == SettingFlag<Command> {
        first { $0.setting.name == name }?.flag ?? name
    }

    /// Throws the first range problem of the given options as a sentence naming the flag.
    func validate<Command>(_ command: Command) throws where Element == SettingFlag<Command> {
        for binding in self {
            if let problem = binding.problem(command) {
                throw ValidationError(problem.description(naming: flag(for:)))
            }
        }
    }

    /// The defaults with the given options applied.
    func configuration<Command>(_ command: Command) -> TrainingConfiguration where Element == SettingFlag<Command> {
        var configuration = TrainingConfiguration()
        for binding in self { binding.apply(command, &configuration) }
        return configuration
    }

    /// A library error as a sentence that names flags instead of setting names.
    func naming<Command>(_ error: Error) -> Error where Element == SettingFlag<Command> {
        switch error {
        case let error as TrainingError: return CommandError(error.description(naming: flag(for:)))
        case let error as CheckpointError: return CommandError(error.description(naming: flag(for:)))
        case let error as FineTuningError:
            let choices = ["extendVocabulary": "--extend-vocabulary", "initFrom": "--init-from"]
            return CommandError(error.description(naming: { choices[$0] ?? flag(for: $0) }))
        default: return error
        }
    }
}
