import Foundation
import Quill

/// A request the server refuses, with the HTTP status and the sentence sent back in the OpenAI error shape.
struct RequestError: Error, Equatable {
    var status: Int
    var message: String
    var type: String

    static func invalid(_ message: String) -> RequestError {
        RequestError(status: 400, message: message, type: "invalid_request_error")
    }
}

/// A `POST /v1/completions` body, checked field by field against the model and the server's limits.
///
/// Fields: `prompt` (a string, or a list of one string; default empty, which starts a new document),
/// `max_tokens` (characters per choice, default 16), `temperature` (default 1), `top_p` (default 1),
/// `top_k` (default 0, off), `stop` (a string or a list of up to 16), `seed` (default: drawn at
/// random), `n` (choices, default 1), `stream` (default false). `model` and any other field are
/// accepted and ignored, as clients of other servers send them.
struct CompletionRequest {
    var prompt: String
    /// The prompt's token ids, without `[DOC]`.
    var promptTokens: [Int32]
    /// Sampling, `max_tokens`, stop strings (normalized) and the seed of choice 0.
    var parameters: GenerationParameters
    var n: Int
    var stream: Bool

    /// Checks a request body.
    ///
    /// - Throws: `RequestError` with status 400, naming the first field that is wrong and why.
    init(body: Data, model: QuillModel, limits: ServerLimits) throws(RequestError) {
        guard let json = JSONValue.parse(body) else {
            throw .invalid("The request body is not valid JSON; send one JSON object such as {\"prompt\": \"Hello\", \"max_tokens\": 50}.")
        }
        guard case let .object(fields) = json else {
            throw .invalid("The request body must be a JSON object, not \(json.kind); send {\"prompt\": \"Hello\"}.")
        }

        func integer(_ key: String, default value: Int, in range: ClosedRange<Int>) throws(RequestError) -> Int {
            guard let field = fields[key], field != .null else { return value }
            guard case let .integer(x) = field else {
                throw .invalid("'\(key)' must be an integer, not \(field.kind).")
            }
            guard x >= Int64(range.lowerBound), x <= Int64(range.upperBound) else {
                throw .invalid("'\(key)' must be between \(range.lowerBound) and \(range.upperBound), not \(x).")
            }
            return Int(x)
        }
        func number(_ key: String, default value: Float) throws(RequestError) -> Float {
            guard let field = fields[key], field != .null else { return value }
            switch field {
            case let .integer(x): return Float(x)
            case let .number(x): return Float(x)
            default: throw .invalid("'\(key)' must be a number, not \(field.kind).")
            }
        }

        // prompt
        switch fields["prompt"] ?? .null {
        case .null: prompt = ""
        case let .string(text): prompt = text
        case let .array(items):
            guard items.count == 1, case let .string(text) = items[0] else {
                throw .invalid("'prompt' must be a string or a list of exactly one string; send one request per prompt.")
            }
            prompt = text
        case let other:
            throw .invalid("'prompt' must be a string, not \(other.kind).")
        }
        let bytes = prompt.utf8.count
        guard bytes <= limits.promptBytes else {
            throw .invalid("The prompt is \(bytes) bytes, more than this server's limit of \(limits.promptBytes); send a shorter prompt.")
        }
        do {
            promptTokens = try model.encode(prompt)
        } catch {
            if case let .unknownCharacter(name, position) = error {
                throw .invalid("The prompt's character \(name) at position \(position) is not in the model's vocabulary; remove it or use characters of the training text.")
            }
            throw .invalid("The prompt cannot be read: \(error)")
        }

        let maxTokens = try integer("max_tokens", default: min(16, limits.maxTokens), in: 1...limits.maxTokens)
        n = try integer("n", default: 1, in: 1...limits.maxChoices)
        let topK = try integer("top_k", default: 0, in: 0...Int(Int32.max))
        let temperature = try number("temperature", default: 1)
        let topP = try number("top_p", default: 1)

        var stops: [String] = []
        switch fields["stop"] ?? .null {
        case .null: break
        case let .string(text): stops = [text]
        case let .array(items):
            guard items.count <= 16 else { throw .invalid("'stop' may hold at most 16 strings, not \(items.count).") }
            for item in items {
                guard case let .string(text) = item else {
                    throw .invalid("'stop' must be a string or a list of strings; it holds \(item.kind).")
                }
                stops.append(text)
            }
        case let other:
            throw .invalid("'stop' must be a string or a list of strings, not \(other.kind).")
        }
        guard !stops.contains(where: \.isEmpty) else { throw .invalid("A 'stop' string is empty, which would stop at once; give at least one character.") }

        var seed = UInt64.random(in: 0...UInt64(Int64.max))
        if let field = fields["seed"], field != .null {
            guard case let .integer(x) = field else { throw .invalid("'seed' must be an integer, not \(field.kind).") }
            guard x >= 0 else { throw .invalid("'seed' must be 0 or more, not \(x).") }
            seed = UInt64(x)
        }

        switch fields["stream"] ?? .null {
        case .null: stream = false
        case let .bool(flag): stream = flag
        case let other: throw .invalid("'stream' must be true or false, not \(other.kind).")
        }

        do {
            let sampling = try SamplingSettings(temperature: temperature, topK: topK, topP: topP)
            parameters = try GenerationParameters(sampling: sampling, maxLength: maxTokens,
                                                  stops: model.normalizedStops(stops), seed: seed)
        } catch {
            switch error {
            case .invalidTemperature: throw .invalid("'temperature' must be a finite number of at least 0, not \(temperature); use 0 for greedy decoding or about 0.7 to 1.")
            case .invalidTopP: throw .invalid("'top_p' must be above 0 and at most 1, not \(topP).")
            case .invalidTopK: throw .invalid("'top_k' must be 0 (off) or more, not \(topK).")
            default: throw .invalid(error.description)
            }
        }
    }
}
