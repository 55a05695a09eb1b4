import Foundation
import XCTest
@testable import Quill
@testable import QuillServer

/// Room for generations that run until something else ends them.
@Sendable private func longRuns(_ c: inout ServerConfiguration) {
    c.limits.maxTokens = 1_000_000
}

final class LoadAndLifecycleTests: XCTestCase {
    /// Starts a stream that would run long and returns its connection once the first text arrived.
    private func startLongStream(port: Int, seed: Int = 1) throws -> (HTTPTestConnection, ServerSentEvents) {
        let connection = try HTTPTestConnection(port: port)
        try connection.send(method: "POST", path: "/v1/completions", headers: ["Content-Type": "application/json"],
                            body: Array(#"{"max_tokens": 1000000, "stream": true, "seed": \#(seed)}"#.utf8))
        let head = try connection.readHead()
        XCTAssertEqual(head.status, 200)
        let events = ServerSentEvents(connection)
        _ = try events.next()
        return (connection, events)
    }


    func testAClientThatDisconnectsMidStreamFreesItsLane() throws {
        try withTestServer(configure: { longRuns(&$0); $0.limits.running = 1; $0.limits.queued = 0 }) { server in
            let (connection, events) = try startLongStream(port: server.port)
            for _ in 0..<5 { XCTAssertNotNil(try events.next()) }
            try server.waitForLoad { running, _ in running == 1 }
            connection.close()
            try server.waitForLoad { running, queued in running == 0 && queued == 0 }
            // The one lane serves the next request.
            let next = try HTTPTestClient.post(port: server.port, "/v1/completions", json: #"{"max_tokens": 10}"#)
            XCTAssertEqual(next.status, 200, next.text)
        }
    }

    func testPastTheQueueRequestsGet503WithRetryAfter() throws {
        try withTestServer(configure: { longRuns(&$0); $0.limits.running = 1; $0.limits.queued = 1 }) { server in
            let (first, _) = try startLongStream(port: server.port)
            // A second long request waits in the queue.
            let second = try HTTPTestConnection(port: server.port)
            try second.send(method: "POST", path: "/v1/completions", headers: ["Content-Type": "application/json"],
                            body: Array(#"{"max_tokens": 1000000, "stream": true}"#.utf8))
            try server.waitForLoad { running, queued in running == 1 && queued == 1 }
            let third = try HTTPTestClient.post(port: server.port, "/v1/completions", json: #"{"max_tokens": 5}"#)
            XCTAssertEqual(third.status, 503, third.text)
            XCTAssertEqual(third.headers["retry-after"], "1")
            XCTAssertNotNil((third.json["error"] as? [String: Any])?["message"])
            // Two choices do not fit either, though one would.
            first.close()
            second.close()
            try server.waitForLoad { running, queued in running == 0 && queued == 0 }
            XCTAssertEqual(try HTTPTestClient.post(port: server.port, "/v1/completions", json: #"{"max_tokens": 5, "n": 2}"#).status, 200)
        }
    }

    func testTheTimeLimitEndsAGenerationWithFinishReasonTimeLimit() throws {
        try withTestServer(configure: { longRuns(&$0); $0.limits.seconds = 0.3 }) { server in
            let response = try HTTPTestClient.post(port: server.port, "/v1/completions", json: #"{"max_tokens": 1000000}"#)
            XCTAssertEqual(response.status, 200)
            let choice = (response.json["choices"] as? [[String: Any]])?.first ?? [:]
            XCTAssertEqual(choice["finish_reason"] as? String, "time_limit")
            XCTAssertGreaterThan((choice["text"] as? String ?? "").count, 0)
        }
    }

    func testShutdownRefusesNewWorkAndEndsRunningStreamsWithinTheGracePeriod() throws {
        let server = try runBlocking { try await TestServer(configure: { $0.limits.maxTokens = 1_000_000; $0.gracePeriod = .milliseconds(300) }) }
        let (_, events) = try startLongStream(port: server.port)
        try runBlocking { try await server.stop() }
        // The stream was ended, not cut: its choice finished and the body closed with [DONE].
        var payloads: [String] = []
        while let data = try events.next() { payloads.append(data) }
        XCTAssertEqual(payloads.last, "[DONE]")
        XCTAssertTrue(payloads.contains { $0.contains("\"finish_reason\":\"time_limit\"") }, payloads.suffix(3).joined(separator: "\n"))
        XCTAssertThrowsError(try HTTPTestConnection(port: server.port))
    }

    func testShutdownKeepsTheEndOfAStreamWhoseClientReadsLate() throws {
        let server = try runBlocking { try await TestServer(configure: { longRuns(&$0); $0.gracePeriod = .milliseconds(300) }) }
        // A client with a small receive buffer that stops reading: the server's writes queue up behind it.
        let connection = try HTTPTestConnection(port: server.port, receiveBuffer: 4096)
        try connection.send(method: "POST", path: "/v1/completions", headers: ["Content-Type": "application/json"],
                            body: Array(#"{"max_tokens": 1000000, "stream": true, "seed": 3}"#.utf8))
        XCTAssertEqual(try connection.readHead().status, 200)
        let events = ServerSentEvents(connection)
        XCTAssertNotNil(try events.next())
        server.server.shutdown()
        // The grace period ends the generation and the response is finished while nothing is read.
        usleep(1_500_000)
        // Then it reads slowly, so the response ends while much of it still waits to be sent.
        connection.pauseBeforeRead = 20_000
        var payloads: [String] = []
        while let data = try events.next() { payloads.append(data) }
        try runBlocking { try await server.stop() }
        XCTAssertGreaterThan(payloads.count, 100, "the stream should have outrun the client")
        XCTAssertTrue(payloads.contains { $0.contains("\"finish_reason\":\"time_limit\"") }, payloads.suffix(3).joined(separator: "\n"))
        XCTAssertEqual(payloads.last, "[DONE]")
    }

    func testMetricsCountRequestsAndCharacters() throws {
        try withTestServer { server in
            _ = try HTTPTestClient.post(port: server.port, "/v1/completions", json: #"{"max_tokens": 7, "n": 2}"#)
            _ = try HTTPTestClient.post(port: server.port, "/v1/completions", json: #"{"max_tokens": "x"}"#)
            let text = try HTTPTestClient.request(port: server.port, "GET", "/metrics").text
            XCTAssertTrue(text.contains("quill_requests_total{status=\"200\"} 1"), text)
            XCTAssertTrue(text.contains("quill_requests_total{status=\"400\"} 1"), text)
            XCTAssertTrue(text.contains("quill_request_seconds_count 1"), text)
            let line = text.split(separator: "\n").first { $0.hasPrefix("quill_generated_characters_total ") }
            let count = line.flatMap { Int($0.split(separator: " ")[1]) } ?? -1
            XCTAssertTrue((2...14).contains(count), text)
        }
    }
}
