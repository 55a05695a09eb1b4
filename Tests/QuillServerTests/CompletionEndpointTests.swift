import Foundation
import XCTest
@testable import Quill
@testable import QuillServer

final class CompletionEndpointTests: XCTestCase {
    func testHealthAndModelsDescribeTheServerAndTheModel() throws {
        try withTestServer { server in
            let health = try HTTPTestClient.request(port: server.port, "GET", "/health")
            XCTAssertEqual(health.status, 200)
            XCTAssertEqual(health.json["status"] as? String, "ok")
            let models = try HTTPTestClient.request(port: server.port, "GET", "/v1/models")
            XCTAssertEqual(models.status, 200, models.text)
            let entry = (models.json["data"] as? [[String: Any]])?.first ?? [:]
            XCTAssertEqual(entry["id"] as? String, "test-model")
            XCTAssertEqual(entry["vocab_size"] as? Int, TestServer.characters.unicodeScalars.count + 1)
            XCTAssertEqual(entry["hidden_size"] as? Int, 32)
            XCTAssertEqual(entry["layers"] as? Int, 2)
        }
    }

    func testACompletionHasTheOpenAIShapeAndTheLibrarysTextForItsSeed() throws {
        try withTestServer { server in
            let response = try HTTPTestClient.post(port: server.port, "/v1/completions",
                                                   json: #"{"prompt": "the king", "max_tokens": 60, "temperature": 0.9, "top_p": 0.95, "seed": 3}"#)
            XCTAssertEqual(response.status, 200, response.text)
            XCTAssertEqual(response.headers["content-type"], "application/json")
            let json = response.json
            XCTAssertEqual(json["object"] as? String, "text_completion")
            XCTAssertEqual(json["model"] as? String, "test-model")
            XCTAssertTrue((json["id"] as? String ?? "").hasPrefix("cmpl-"))
            let choice = (json["choices"] as? [[String: Any]])?.first ?? [:]
            let text = choice["text"] as? String ?? ""
            let expected = try server.server.model.generate("the king", parameters: GenerationParameters(temperature: 0.9, topP: 0.95, maxLength: 60, seed: 3))
            XCTAssertEqual(text, expected)
            let reason = choice["finish_reason"] as? String
            XCTAssertEqual(reason, "length")
            XCTAssertEqual(text.unicodeScalars.count, 60)
            let usage = json["usage"] as? [String: Any] ?? [:]
            XCTAssertEqual(usage["prompt_tokens"] as? Int, 8)
            XCTAssertEqual(usage["completion_tokens"] as? Int, text.unicodeScalars.count)
            XCTAssertEqual(usage["total_tokens"] as? Int, 8 + text.unicodeScalars.count)
        }
    }

    func testAStopStringEndsTheChoiceWithFinishReasonStop() throws {
        try withTestServer { server in
            let full = choiceTexts(try HTTPTestClient.post(port: server.port, "/v1/completions",
                                                           json: #"{"max_tokens": 80, "temperature": 0}"#).json)[0]
            let scalars = Array(full.unicodeScalars)
            XCTAssertGreaterThan(scalars.count, 20, full)
            let stop = String(String.UnicodeScalarView(scalars[10..<12]))
            let body = #"{"max_tokens": 80, "temperature": 0, "stop": ["zzzz", "# + JSONText.encode(stop) + "]}"
            let json = try HTTPTestClient.post(port: server.port, "/v1/completions", json: body).json
            let text = choiceTexts(json)[0]
            XCTAssertEqual(((json["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String), "stop")
            XCTAssertTrue(full.hasPrefix(text + stop), "\(text) / \(full)")
            XCTAssertFalse(text.contains(stop))
        }
    }

    func testAStreamIsServerSentEventsThatAddUpToTheCompletionAndEndWithDone() throws {
        try withTestServer { server in
            let request = #"{"prompt": "we ", "max_tokens": 50, "seed": 8, "n": 2"#
            let whole = try HTTPTestClient.post(port: server.port, "/v1/completions", json: request + "}")
            XCTAssertEqual(whole.status, 200, whole.text)
            let connection = try HTTPTestConnection(port: server.port)
            try connection.send(method: "POST", path: "/v1/completions", headers: ["Content-Type": "application/json"],
                                body: Array((request + #", "stream": true}"#).utf8))
            let head = try connection.readHead()
            XCTAssertEqual(head.status, 200)
            XCTAssertEqual(head.headers["content-type"], "text/event-stream")
            let events = ServerSentEvents(connection)
            var texts = ["", ""]
            var reasons: [Int: String] = [:]
            var payloads: [String] = []
            while let data = try events.next() { payloads.append(data) }
            XCTAssertEqual(payloads.last, "[DONE]")
            var usage: [String: Any]?
            for data in payloads.dropLast() {
                let chunk = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any], data)
                XCTAssertEqual(chunk["object"] as? String, "text_completion")
                if let u = chunk["usage"] as? [String: Any] { usage = u }
                for choice in chunk["choices"] as? [[String: Any]] ?? [] {
                    let i = choice["index"] as? Int ?? -1
                    XCTAssertNil(reasons[i], "text after choice \(i) finished")
                    texts[i] += choice["text"] as? String ?? ""
                    if let reason = choice["finish_reason"] as? String { reasons[i] = reason }
                }
            }
            XCTAssertEqual(texts, choiceTexts(whole.json))
            XCTAssertEqual(reasons.count, 2)
            XCTAssertEqual(usage?["completion_tokens"] as? Int, texts.map(\.unicodeScalars.count).reduce(0, +))
        }
    }

    func testEachChoiceDependsOnlyOnItsSeedWhateverSharesTheBatch() throws {
        // bfloat16: live lanes share engine steps (float32 steps each lane alone).
        try withTestServer(precision: .bfloat16) { server in
            let port = server.port
            func completion(_ seed: Int, n: Int = 1) throws -> [String] {
                let response = try HTTPTestClient.post(port: port, "/v1/completions",
                                                       json: #"{"prompt": "a", "max_tokens": 120, "temperature": 1, "n": \#(n), "seed": \#(seed)}"#)
                XCTAssertEqual(response.status, 200, response.text)
                return choiceTexts(response.json)
            }
            let alone = try completion(21)[0]
            let library = try server.server.model.generate("a", parameters: GenerationParameters(maxLength: 120, seed: 21))
            XCTAssertEqual(alone, library)
            // Choice i of n uses seed + i.
            let three = try completion(20, n: 3)
            XCTAssertEqual(three[1], alone)
            XCTAssertNotEqual(three[0], three[1])
            // The same request while others run: twelve concurrent requests, several copies of seed 21.
            let results = try onThreads(12) { k in try completion(k % 3 == 0 ? 21 : 100 + k, n: k % 4 == 1 ? 2 : 1) }
            for (k, texts) in results.enumerated() where k % 3 == 0 {
                XCTAssertEqual(texts[0], alone, "request \(k)")
            }
        }
    }

    func testEveryMalformedRequestGets400WithTheOpenAIErrorShape() throws {
        try withTestServer(configure: { $0.limits.promptBytes = 100 }) { server in
            let cases: [(body: String, fragment: String)] = [
                ("{not json", "not valid JSON"),
                ("[1, 2]", "must be a JSON object"),
                (#"{"prompt": 5}"#, "'prompt' must be a string"),
                (#"{"prompt": ["a", "b"]}"#, "exactly one string"),
                (#"{"max_tokens": "ten"}"#, "'max_tokens' must be an integer"),
                (#"{"max_tokens": 1.5}"#, "'max_tokens' must be an integer"),
                (#"{"max_tokens": 0}"#, "'max_tokens' must be between 1 and 4096"),
                (#"{"max_tokens": 100000}"#, "'max_tokens' must be between 1 and 4096"),
                (#"{"temperature": "hot"}"#, "'temperature' must be a number"),
                (#"{"temperature": -0.5}"#, "'temperature' must be a finite number of at least 0"),
                (#"{"top_p": 0}"#, "'top_p' must be above 0"),
                (#"{"top_p": 1.5}"#, "'top_p' must be above 0"),
                (#"{"top_k": -1}"#, "'top_k' must be between 0"),
                (#"{"top_k": true}"#, "'top_k' must be an integer"),
                (#"{"n": 0}"#, "'n' must be between 1 and 8"),
                (#"{"n": 9}"#, "'n' must be between 1 and 8"),
                (#"{"stop": 5}"#, "'stop' must be a string or a list of strings"),
                (#"{"stop": ["a", 3]}"#, "'stop' must be a string or a list of strings"),
                (#"{"stop": [""]}"#, "'stop' string is empty"),
                (#"{"seed": -1}"#, "'seed' must be 0 or more"),
                (#"{"seed": "x"}"#, "'seed' must be an integer"),
                (#"{"stream": "yes"}"#, "'stream' must be true or false"),
                (#"{"prompt": "hello!"}"#, "character '!' (U+0021) at position 5 is not in the model's vocabulary"),
                (#"{"prompt": "caf\u00e9"}"#, "U+00E9"),
                ("{\"prompt\": \"" + String(repeating: "a", count: 101) + "\"}", "101 bytes, more than this server's limit of 100"),
            ]
            for (body, fragment) in cases {
                let response = try HTTPTestClient.post(port: server.port, "/v1/completions", json: body)
                XCTAssertEqual(response.status, 400, body)
                let error = response.json["error"] as? [String: Any] ?? [:]
                XCTAssertEqual(error["type"] as? String, "invalid_request_error", body)
                let message = error["message"] as? String ?? ""
                XCTAssertTrue(message.contains(fragment), "\(body): \(message)")
            }
        }
    }

    func testABodyOverTheLimitGets413() throws {
        try withTestServer(configure: { $0.limits.bodyBytes = 1000 }) { server in
            let body = "{\"prompt\": \"" + String(repeating: "a", count: 2000) + "\"}"
            let response = try HTTPTestClient.post(port: server.port, "/v1/completions", json: body)
            XCTAssertEqual(response.status, 413)
            let error = response.json["error"] as? [String: Any] ?? [:]
            XCTAssertTrue((error["message"] as? String ?? "").contains("limit of 1000 bytes"), response.text)
            XCTAssertEqual(try HTTPTestClient.post(port: server.port, "/v1/completions", json: #"{"max_tokens": 3}"#).status, 200)
        }
    }

    func testTheBearerKeyIsRequiredEverywhereButHealth() throws {
        try withTestServer(configure: { $0.apiKey = "s3cret-key" }) { server in
            let body = #"{"max_tokens": 5}"#
            XCTAssertEqual(try HTTPTestClient.post(port: server.port, "/v1/completions", json: body).status, 401)
            let wrong = try HTTPTestClient.post(port: server.port, "/v1/completions", json: body, headers: ["Authorization": "Bearer s3cret-kez"])
            XCTAssertEqual(wrong.status, 401)
            XCTAssertEqual((wrong.json["error"] as? [String: Any])?["type"] as? String, "authentication_error")
            XCTAssertEqual(try HTTPTestClient.post(port: server.port, "/v1/completions", json: body,
                                                   headers: ["Authorization": "Bearer s3cret-key-longer"]).status, 401)
            XCTAssertEqual(try HTTPTestClient.post(port: server.port, "/v1/completions", json: body,
                                                   headers: ["Authorization": "s3cret-key"]).status, 401)
            XCTAssertEqual(try HTTPTestClient.request(port: server.port, "GET", "/v1/models").status, 401)
            XCTAssertEqual(try HTTPTestClient.post(port: server.port, "/v1/completions", json: body,
                                                   headers: ["Authorization": "Bearer s3cret-key"]).status, 200)
            XCTAssertEqual(try HTTPTestClient.request(port: server.port, "GET", "/v1/models",
                                                      headers: ["Authorization": "Bearer s3cret-key"]).status, 200)
            XCTAssertEqual(try HTTPTestClient.request(port: server.port, "GET", "/health").status, 200)
        }
    }

    func testConstantTimeComparisonAgreesWithEquality() {
        let keys = ["", "a", "ab", "abc", "abd", "abcd"]
        for a in keys {
            for b in keys {
                XCTAssertEqual(constantTimeEqual(Array(a.utf8), Array(b.utf8)), a == b, "\(a) vs \(b)")
            }
        }
    }
}
