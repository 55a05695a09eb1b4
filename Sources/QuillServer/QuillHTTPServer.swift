import Foundation
import Hummingbird
import Logging
import CoreMetrics
import Metrics
import Quill
import ServiceLifecycle

/// The HTTP server of `quill serve`: OpenAI-style completions over one loaded model.
///
/// Endpoints: `GET /health`, `GET /v1/models`, `POST /v1/completions` (JSON, or server-sent events
/// with `"stream": true`), and `GET /metrics` (Prometheus text). Generations of all requests run
/// on one `Scheduler`, batched into shared engine steps.
///
/// ```swift
/// let server = QuillHTTPServer(model: model, configuration: configuration, logger: logger)
/// try await server.run()   // until shutdown() or, with handleSignals, SIGTERM / SIGINT
/// ```
public final class QuillHTTPServer: Sendable {
    public let model: QuillModel
    public let configuration: ServerConfiguration
    let logger: Logger
    let scheduler: Scheduler
    let metrics = ServerMetrics()
    private let boundPort = Locked<Int?>(nil)
    private let group = Locked<ServiceGroup?>(nil)
    private let shutdownRequested = Locked(false)

    public init(model: QuillModel, configuration: ServerConfiguration, logger: Logger) {
        self.model = model
        self.configuration = configuration
        self.logger = logger
        scheduler = Scheduler(model: model.languageModel, vocabulary: model.vocabulary, precision: model.precision,
                              maxRunning: configuration.limits.running, maxQueued: configuration.limits.queued)
    }

    /// The port the server listens on, once it runs.
    public var port: Int? { boundPort.withLock { $0 } }

    /// Serves until `shutdown()` (or, with `handleSignals`, SIGTERM or SIGINT), then returns.
    ///
    /// - Parameters:
    ///   - handleSignals: turn SIGTERM and SIGINT into `shutdown()`.
    ///   - onRunning: called with the bound port once the server accepts connections.
    /// - Throws: when the address cannot be bound.
    public func run(handleSignals: Bool = false, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        scheduler.start()
        let router = Router(context: BasicRequestContext.self)
        addRoutes(to: router)
        let app = Application(
            router: router,
            // A closing connection first sends what it was given, so a slow reader keeps its stream's end.
            server: .http1(configuration: .init(additionalChannelHandlers: [CloseAfterWrites()])),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "quill"),
            onServerRunning: { [self] channel in
                let port = channel.localAddress?.port ?? configuration.port
                boundPort.withLock { $0 = port }
                logger.info("quill serve: listening", metadata: ["host": "\(configuration.host)", "port": "\(port)",
                                                                  "model": "\(model.name)"])
                await onRunning(port)
            },
            logger: logger
        )
        let serviceGroup = ServiceGroup(configuration: .init(services: [app], logger: logger))
        group.withLock { $0 = serviceGroup }
        var sources: [any DispatchSourceSignal] = []
        if handleSignals {
            for sig in [SIGTERM, SIGINT] {
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                source.setEventHandler { [self] in
                    logger.info("quill serve: shutting down", metadata: ["signal": "\(sig == SIGTERM ? "SIGTERM" : "SIGINT")"])
                    shutdown()
                }
                source.resume()
                sources.append(source)
            }
        }
        if shutdownRequested.withLock({ $0 }) { shutdown() }
        defer {
            for source in sources { source.cancel() }
            scheduler.stop()
        }
        try await serviceGroup.run()
        await scheduler.waitUntilDrained()
    }

    /// Stops accepting connections and new generations; running ones may go on for the grace period, then end.
    public func shutdown() {
        shutdownRequested.withLock { $0 = true }
        scheduler.beginShutdown(grace: configuration.gracePeriod)
        if let serviceGroup = group.withLock({ $0 }) {
            Task { await serviceGroup.triggerGracefulShutdown() }
        }
    }

    // MARK: Routes

    private func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/health") { [self] request, _ in
            respond(request, authorize: false) {
                let load = scheduler.load
                return json(200, "{\"status\":\"ok\",\"running\":\(load.running),\"queued\":\(load.queued)}")
            }
        }
        router.get("/metrics") { [self] request, _ in
            respond(request) {
                let load = scheduler.load
                var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: metrics.prometheusText(running: load.running, queued: load.queued))))
                response.headers[.contentType] = "text/plain; version=0.0.4"
                return response
            }
        }
        router.get("/v1/models") { [self] request, _ in
            respond(request) {
                let c = model.configuration
                let entry = "{\"id\":\(JSONText.encode(model.name)),\"object\":\"model\",\"owned_by\":\"quill\","
                    + "\"vocab_size\":\(c.vocabularySize),\"embed_size\":\(c.embeddingSize),\"hidden_size\":\(c.hiddenSize),"
                    + "\"layers\":\(c.layers),\"parameters\":\(model.languageModel.layout.count)}"
                return json(200, "{\"object\":\"list\",\"data\":[\(entry)]}")
            }
        }
        router.post("/v1/completions") { [self] request, _ in
            let started = ContinuousClock.now
            if let refusal = authorizationFailure(request) { return finish(request, refusal, started: started) }
            let body: Data
            do {
                body = try await collect(request)
            } catch {
                return finish(request, errorResponse(error), started: started)
            }
            let response: Response
            do {
                let completion = try CompletionRequest(body: body, model: model, limits: configuration.limits)
                response = try await complete(completion, started: started)
            } catch let error as RequestError {
                response = errorResponse(error)
            } catch {
                response = errorResponse(RequestError(status: 500, message: "The server failed: \(error).", type: "server_error"))
            }
            return finish(request, response, started: started)
        }
    }

    /// Checks the key, runs `body` and logs the outcome.
    private func respond(_ request: Request, authorize: Bool = true, _ body: () -> Response) -> Response {
        let started = ContinuousClock.now
        if authorize, let refusal = authorizationFailure(request) { return finish(request, refusal, started: started) }
        return finish(request, body(), started: started)
    }

    /// Logs one line for the request and counts it.
    private func finish(_ request: Request, _ response: Response, started: ContinuousClock.Instant) -> Response {
        let elapsed = ContinuousClock.now - started
        let status = response.status.code
        logger.info("request", metadata: [
            "method": "\(request.method)", "path": "\(request.uri.path)", "status": "\(status)",
            "ms": "\(String(format: "%.1f", Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000))",
        ])
        Counter(label: "quill_requests_total", dimensions: [("status", "\(status)")], factory: metrics.factory).increment()
        if status == 503 { metrics.refused.increment() }
        return response
    }

    /// A 401 response unless the request carries the configured key (compared in constant time).
    private func authorizationFailure(_ request: Request) -> Response? {
        guard let key = configuration.apiKey else { return nil }
        let header = request.headers[.authorization] ?? ""
        let prefix = "Bearer "
        let given = header.hasPrefix(prefix) ? String(header.dropFirst(prefix.count)) : ""
        if constantTimeEqual(Array(given.utf8), Array(key.utf8)) { return nil }
        var response = errorResponse(RequestError(
            status: 401, message: "A valid API key is required; send the header 'Authorization: Bearer <key>' with the key the server was started with.",
            type: "authentication_error"))
        response.headers[.wwwAuthenticate] = "Bearer"
        return response
    }

    /// The request body, refused with 413 past the limit.
    private func collect(_ request: Request) async throws -> Data {
        let limit = configuration.limits.bodyBytes
        let tooLarge = RequestError(status: 413, message: "The request body is larger than this server's limit of \(limit) bytes; send a shorter prompt.", type: "invalid_request_error")
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit { throw tooLarge }
        var data = Data()
        for try await buffer in request.body {
            guard data.count + buffer.readableBytes <= limit else { throw tooLarge }
            data.append(contentsOf: buffer.readableBytesView)
        }
        return data
    }

    // MARK: Completions

    private func complete(_ request: CompletionRequest, started: ContinuousClock.Instant) async throws -> Response {
        let (events, continuation) = AsyncStream<GenerationEvent>.makeStream()
        let deadline = started + .milliseconds(Int64(configuration.limits.seconds * 1000))
        let generations = try (0..<request.n).map { i in
            // Choice i uses seed + i, as `quill sample --samples` does.
            try Generation(index: i, prompt: request.promptTokens, parameters: request.parameters.withSeed(request.parameters.seed &+ UInt64(i)),
                           stops: request.parameters.stops, vocabularySize: model.configuration.vocabularySize,
                           deadline: deadline, streaming: request.stream, events: continuation)
        }
        continuation.onTermination = { _ in for g in generations { g.cancel() } }
        do {
            try scheduler.submit(generations)
        } catch {
            let message = error == .queueFull
                ? "The server is busy: every generation lane and queue place is taken; retry after a moment."
                : "The server is shutting down and takes no new requests; retry against another instance."
            var response = errorResponse(RequestError(status: 503, message: message, type: "server_busy"))
            response.headers[.retryAfter] = "\(configuration.retryAfterSeconds)"
            return response
        }
        let id = "cmpl-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(24)
        let created = Int(Date().timeIntervalSince1970)
        let promptCount = request.promptTokens.count
        if request.stream {
            return streamResponse(events: events, generations: generations, id: String(id), created: created,
                                  promptCount: promptCount, started: started)
        }
        var texts = [String](repeating: "", count: request.n)
        var reasons = [FinishReason?](repeating: nil, count: request.n)
        var produced = 0
        var first = true
        for await event in events {
            switch event {
            case let .text(i, piece):
                if first { metrics.firstCharacter.record(since: started); first = false }
                texts[i] += piece
                generations[i].acknowledge()
            case let .finished(i, reason, characters):
                reasons[i] = reason
                produced += characters
            }
            if !reasons.contains(where: { $0 == nil }) { break }
        }
        continuation.finish()
        metrics.characters.increment(by: produced)
        metrics.latency.record(since: started)
        let body = CompletionResponse(id: String(id), created: created, model: model.name,
                                      choices: (0..<request.n).map { CompletionChoice(text: texts[$0], index: $0, finishReason: reasons[$0] ?? .length) },
                                      usage: CompletionUsage(promptTokens: promptCount, completionTokens: produced))
        return json(200, JSONText.encode(body))
    }

    /// Server-sent events: a `data: {chunk}` per piece of text, one per finished choice, then `data: [DONE]`.
    private func streamResponse(events: AsyncStream<GenerationEvent>, generations: [Generation], id: String, created: Int,
                                promptCount: Int, started: ContinuousClock.Instant) -> Response {
        let n = generations.count
        let modelName = model.name
        let metrics = self.metrics
        let logger = self.logger
        let body = ResponseBody { writer in
            var finished = 0
            var produced = 0
            var first = true
            func chunk(_ choice: CompletionChoice) -> ByteBuffer {
                let value = CompletionResponse(id: id, created: created, model: modelName, choices: [choice], usage: nil)
                return ByteBuffer(string: "data: " + JSONText.encode(value) + "\n\n")
            }
            do {
                for await event in events {
                    switch event {
                    case let .text(i, piece):
                        if first { metrics.firstCharacter.record(since: started); first = false }
                        try await writer.write(chunk(CompletionChoice(text: piece, index: i, finishReason: nil)))
                        generations[i].acknowledge()
                    case let .finished(i, reason, characters):
                        finished += 1
                        produced += characters
                        try await writer.write(chunk(CompletionChoice(text: "", index: i, finishReason: reason)))
                    }
                    if finished == n { break }
                }
                let usage = CompletionResponse(id: id, created: created, model: modelName, choices: [],
                                               usage: CompletionUsage(promptTokens: promptCount, completionTokens: produced))
                try await writer.write(ByteBuffer(string: "data: " + JSONText.encode(usage) + "\n\ndata: [DONE]\n\n"))
                try await writer.finish(nil)
                metrics.characters.increment(by: produced)
                metrics.latency.record(since: started)
            } catch {
                // The client went away: free the lanes at once.
                for g in generations { g.cancel() }
                metrics.characters.increment(by: produced)
                logger.info("stream ended by the client", metadata: ["id": "\(id)", "characters": "\(produced)"])
                throw error
            }
        }
        var response = Response(status: .ok, body: body)
        response.headers[.contentType] = "text/event-stream"
        response.headers[.cacheControl] = "no-cache"
        return response
    }

    // MARK: Helpers

    private func json(_ status: Int, _ text: String) -> Response {
        var response = Response(status: HTTPResponse.Status(code: status), body: .init(byteBuffer: ByteBuffer(string: text)))
        response.headers[.contentType] = "application/json"
        return response
    }

    private func errorResponse(_ error: any Error) -> Response {
        let e = error as? RequestError ?? RequestError(status: 400, message: "The request cannot be read: \(error).", type: "invalid_request_error")
        return json(e.status, JSONText.encode(ErrorBody(error: .init(message: e.message, type: e.type, code: nil))))
    }
}

/// Compares two byte strings in time that depends only on their lengths, not on where they differ.
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    var difference = UInt8(a.count == b.count ? 0 : 1)
    let n = max(a.count, b.count)
    for i in 0..<n {
        let x = i < a.count ? a[i] : 0
        let y = i < b.count ? b[i] : 0
        difference |= x ^ y
    }
    return difference == 0
}

extension CoreMetrics.Timer {
    /// Records the time from `start` until now.
    func record(since start: ContinuousClock.Instant) {
        let d = ContinuousClock.now - start
        recordNanoseconds(d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000)
    }
}

/// A value behind a lock.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
