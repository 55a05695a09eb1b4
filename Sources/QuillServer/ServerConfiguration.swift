/// The limits a server puts on each request and on its work as a whole; each is a `quill serve` flag.
public struct ServerLimits: Sendable, Equatable {
    /// Largest prompt, in UTF-8 bytes (`--max-prompt-bytes`).
    public var promptBytes = 16_384
    /// Largest `max_tokens`, in characters per choice (`--max-tokens`).
    public var maxTokens = 4096
    /// Largest `n` (`--max-n`).
    public var maxChoices = 8
    /// Largest request body, in bytes (`--max-body-bytes`); larger ones get 413.
    public var bodyBytes = 65_536
    /// Generations run at once, batched into shared engine steps (`--concurrency`).
    public var running = 64
    /// Generations that may wait for a lane (`--queue`); past it, requests get 503.
    public var queued = 256
    /// Longest a request may take, queueing included, in seconds (`--time-limit`).
    public var seconds: Double = 300

    public init() {}
}

/// Where and how a server runs.
public struct ServerConfiguration: Sendable {
    /// The address to bind; loopback unless told otherwise.
    public var host = "127.0.0.1"
    /// The port; 0 picks a free one.
    public var port = 8080
    public var limits = ServerLimits()
    /// When set, every request but `/health` must carry `Authorization: Bearer <key>`.
    public var apiKey: String?
    /// After SIGTERM or SIGINT, how long running generations may go on before they are ended.
    public var gracePeriod: Duration = .seconds(10)
    /// The value of `Retry-After` on a 503, in seconds.
    public var retryAfterSeconds = 1

    public init() {}
}
