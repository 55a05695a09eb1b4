import Foundation
import Logging
import XCTest
@testable import Quill
@testable import QuillServer

/// A server on a free loopback port over a small seeded model, started for one test and always stopped.
final class TestServer: @unchecked Sendable {
    let server: QuillHTTPServer
    let port: Int
    private let task: Task<Void, any Error>

    /// Letters, space and newline: enough for prompts in tests; `!` and `é` are outside on purpose.
    static let characters = "\n abcdefghijklmnopqrstuvwxyz,."

    static func modelFile(seed: UInt64 = 5) -> ModelFile {
        let vocabulary = Vocabulary(scalars: Set(characters.unicodeScalars).sorted { $0.value < $1.value })
        let configuration = ModelConfiguration(vocabularySize: vocabulary.count, embeddingSize: 8, hiddenSize: 32, layers: 2, dropout: 0)
        var random = QuillRandom(seed: seed)
        let model = LanguageModel.initialized(configuration, random: &random)
        // [DOC] can never be drawn (its weight rounds to 0), so texts run to max_tokens and long streams stay busy.
        let bias = model.weights.view(at: model.layout.decoderBiasIndex)
        bias[0] = -10_000
        return ModelFile(configuration: configuration, vocabulary: vocabulary, textOptions: TextOptions(), weights: model.weights)
    }

    /// - Parameter precision: float32 steps each lane alone; bfloat16 shares steps between lanes.
    init(precision: ComputePrecision = .float32, configure: (inout ServerConfiguration) -> Void = { _ in }) async throws {
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.gracePeriod = .seconds(2)
        configure(&configuration)
        var logger = Logger(label: "quill-test")
        logger.logLevel = .warning
        let server = QuillHTTPServer(model: QuillModel(file: Self.modelFile(), name: "test-model", precision: precision),
                                     configuration: configuration, logger: logger)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        task = Task { try await server.run { port in continuation.yield(port) } }
        var bound: Int?
        for await port in ports {
            bound = port
            break
        }
        self.server = server
        guard let bound else { throw HTTPTestConnection.Failure(description: "the server did not start") }
        port = bound
    }

    /// Shuts the server down gracefully and waits for it to end.
    func stop() async throws {
        server.shutdown()
        try await task.value
    }

    /// Polls `/health` until `condition` holds for its running and queued counts (at most 30 s).
    func waitForLoad(_ condition: (Int, Int) -> Bool) throws {
        for _ in 0..<3000 {
            let json = try HTTPTestClient.request(port: port, "GET", "/health").json
            if let running = json["running"] as? Int, let queued = json["queued"] as? Int, condition(running, queued) { return }
            usleep(10_000)
        }
        XCTFail("the server's load never reached the expected state")
    }
}

/// Runs `body` against a fresh server and stops the server whatever happens.
///
/// The tests are synchronous and run on the main thread: the test client blocks on its socket,
/// and blocking a thread of the concurrency pool would take it from the server's own tasks.
func withTestServer(precision: ComputePrecision = .float32, configure: @escaping @Sendable (inout ServerConfiguration) -> Void = { _ in },
                    _ body: (TestServer) throws -> Void) throws {
    let server = try runBlocking { try await TestServer(precision: precision, configure: configure) }
    do {
        try body(server)
    } catch {
        try? runBlocking { try await server.stop() }
        throw error
    }
    try runBlocking { try await server.stop() }
}

/// Runs async work to its end from synchronous code (the tests' main thread).
func runBlocking<T>(_ operation: @escaping @Sendable () async throws -> T) throws -> T {
    let slot = ThreadResult<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        do { slot.result = .success(try await operation()) } catch { slot.result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try slot.result!.get()
}

/// The `text` of every choice of a completion response, by index.
func choiceTexts(_ json: [String: Any]) -> [String] {
    let choices = json["choices"] as? [[String: Any]] ?? []
    return choices.sorted { ($0["index"] as? Int ?? 0) < ($1["index"] as? Int ?? 0) }.map { $0["text"] as? String ?? "<none>" }
}

/// Runs `body(0..<count)` on as many threads at once and returns the results in order.
///
/// The test client blocks on its socket, so concurrent clients get threads of their own rather than
/// tasks, which would hold the few threads the server's own tasks need.
func onThreads<T>(_ count: Int, _ body: @escaping @Sendable (Int) throws -> T) throws -> [T] {
    let slots = (0..<count).map { _ in ThreadResult<T>() }
    let group = DispatchGroup()
    for i in 0..<count {
        group.enter()
        let thread = Thread {
            slots[i].result = Result { try body(i) }
            group.leave()
        }
        thread.start()
    }
    group.wait()
    return try slots.map { try $0.result!.get() }
}

/// The result one thread of `onThreads` leaves for the caller.
final class ThreadResult<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}
