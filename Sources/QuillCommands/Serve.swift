import ArgumentParser
import Foundation
import Logging
import Quill
import QuillServer

extension QuillCommand {
    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve",
            abstract: "Serve a model over HTTP with OpenAI-style completions.",
            discussion: """
            Endpoints: GET /health, GET /v1/models, POST /v1/completions (prompt, max_tokens, \
            temperature, top_p, top_k, stop, seed, n, stream) and GET /metrics (Prometheus text). \
            With "stream": true the completion arrives as server-sent events ending with \
            'data: [DONE]'. Concurrent generations share batched engine steps; choice i of a \
            request uses seed + i, as 'quill sample --samples' does, whatever else runs. \
            SIGTERM or SIGINT stops accepting requests, lets running ones finish within \
            --grace seconds (then ends them), sends each client what was written to it (waiting \
            at most 10 s more for one that has stopped reading) and exits 0.

            Examples:
              quill serve models/kjv
              curl -s localhost:8080/v1/completions -d '{"prompt": "And God said", "max_tokens": 60, "seed": 1}'
            """
        )

        @Argument(help: ArgumentHelp("Model file written by quill train (model.safetensors), or its folder.", valueName: "model"))
        var model: String

        @Option(help: "Address to listen on; the default is loopback only (use 0.0.0.0 to accept other machines).")
        var host = "127.0.0.1"

        @Option(help: "Port to listen on (0 picks a free one, printed at start).")
        var port = 8080

        @Option(name: .customLong("api-key"), help: "Require 'Authorization: Bearer KEY' on every request but /health.")
        var apiKey: String?

        @Option(help: "Matrix products in bfloat16 (default: live generations share each step; float32 on CPUs without it) or float32 (each generation steps alone, so a text never depends on its batch-mates).")
        var precision: ComputePrecision = .bfloat16

        @Option(help: "Generations run at once, batched into shared engine steps (typical 32-256).")
        var concurrency = ServerLimits().running

        @Option(help: "Generations that may wait for a free lane; past it, requests get 503 with Retry-After.")
        var queue = ServerLimits().queued

        @Option(name: .customLong("max-tokens"), help: "Largest max_tokens a request may ask for, in characters.")
        var maxTokens = ServerLimits().maxTokens

        @Option(name: .customLong("max-n"), help: "Largest n (choices per request).")
        var maxN = ServerLimits().maxChoices

        @Option(name: .customLong("max-prompt-bytes"), help: "Largest prompt, in UTF-8 bytes.")
        var maxPromptBytes = ServerLimits().promptBytes

        @Option(name: .customLong("max-body-bytes"), help: "Largest request body, in bytes; larger ones get 413.")
        var maxBodyBytes = ServerLimits().bodyBytes

        @Option(name: .customLong("time-limit"), help: "Longest a request may take, queueing included (90, 90s, 5m); then it ends with finish_reason time_limit.")
        var timeLimit = WallClock(seconds: ServerLimits().seconds)

        @Option(help: "After SIGTERM or SIGINT, how long running generations may go on before they are ended (10s, 1m).")
        var grace = WallClock(seconds: 10)

        func validate() throws {
            func positive(_ value: Int, _ flag: String, _ hint: String) throws {
                guard value >= 1 else { throw ValidationError("\(flag) must be at least 1, not \(value); try \(hint).") }
            }
            try positive(concurrency, "--concurrency", "64")
            try positive(maxTokens, "--max-tokens", "4096")
            try positive(maxN, "--max-n", "8")
            try positive(maxPromptBytes, "--max-prompt-bytes", "16384")
            try positive(maxBodyBytes, "--max-body-bytes", "65536")
            guard queue >= 0 else { throw ValidationError("--queue must be 0 or more, not \(queue); try 256.") }
            guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535, not \(port).") }
            if let apiKey, apiKey.isEmpty { throw ValidationError("--api-key is empty; give a key, or leave the option out.") }
        }

        func run() throws {
            let url = try modelURL(model)
            let loaded: QuillModel
            do {
                loaded = try QuillModel(contentsOf: url, precision: precision)
            } catch {
                throw CommandError(error.description)
            }
            var configuration = ServerConfiguration()
            configuration.host = host
            configuration.port = port
            configuration.apiKey = apiKey
            configuration.gracePeriod = .milliseconds(Int64(grace.seconds * 1000))
            configuration.limits.running = concurrency
            configuration.limits.queued = queue
            configuration.limits.maxTokens = maxTokens
            configuration.limits.maxChoices = maxN
            configuration.limits.promptBytes = maxPromptBytes
            configuration.limits.bodyBytes = maxBodyBytes
            configuration.limits.seconds = timeLimit.seconds

            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = .info
                return handler
            }
            let server = QuillHTTPServer(model: loaded, configuration: configuration, logger: Logger(label: "quill"))
            let done = DispatchSemaphore(value: 0)
            let failure = FailureBox()
            Task.detached {
                do {
                    try await server.run(handleSignals: true) { port in
                        StandardStream.output.writeKeepingFailure("quill serve: \(loaded.name) on http://\(host):\(port)\n")
                    }
                } catch {
                    failure.error = error
                }
                done.signal()
            }
            done.wait()
            if let error = failure.error {
                throw CommandError("The server could not run on \(host):\(port): \(error); pick another --port or --host.")
            }
        }
    }
}

/// The error a detached server task ended with, read after it signals.
private final class FailureBox: @unchecked Sendable {
    var error: (any Error)?
}
