import Foundation
import Shared
import TestSupport
import XCTest

/// `/v1/messages` through a real worker (in-process, real sockets) against the real fake-cerebras process.
final class MessagesEndToEndTests: GatewayTestCase {
    func testNonStreamedTextEchoesTheRequestedModel() throws {
        let response = try gateway.messages(messagesBody())
        XCTAssertEqual(response.status, 200, response.text)
        XCTAssertTrue(response.headers["request-id"]?.hasPrefix("req_") == true)
        // The fake's x-ratelimit-*-tokens-minute headers, read from curl's header lines and mapped.
        XCTAssertEqual(response.headers["anthropic-ratelimit-tokens-limit"], "10000000")
        XCTAssertEqual(response.headers["anthropic-ratelimit-tokens-remaining"], "9999000")
        XCTAssertNotNil(response.headers["anthropic-ratelimit-tokens-reset"])
        let message = try XCTUnwrap(try response.json() as? [String: Any])
        XCTAssertEqual(message["model"] as? String, "claude-sonnet-4-5")
        XCTAssertEqual(message["type"] as? String, "message")
        XCTAssertTrue((message["id"] as? String)?.hasPrefix("msg_") == true)
        XCTAssertEqual(message["stop_reason"] as? String, "end_turn")
        let content = try XCTUnwrap(message["content"] as? [[String: Any]])
        XCTAssertEqual(content.first?["text"] as? String, "Hello from the fake Cerebras.")
        let usage = try XCTUnwrap(message["usage"] as? [String: Any])
        XCTAssertGreaterThan(usage["input_tokens"] as? Int ?? 0, 0)
        XCTAssertGreaterThan(usage["output_tokens"] as? Int ?? 0, 0)
    }

    /// The time to the first token is a streaming request's: a non-streamed answer's would be its whole time.
    func testOnlyAStreamingRequestRecordsATimeToFirstToken() throws {
        func firstTokenCount() throws -> Int {
            let metrics = try httpRequest(port: gateway.port, method: "GET", path: "/metrics").text
            let prefix = "cerebras_gateway_time_to_first_token_seconds_count{model=\"zai-glm-4.7\"} "
            return metrics.split(separator: "\n").first { $0.hasPrefix(prefix) }
                .flatMap { Int($0.dropFirst(prefix.count)) } ?? 0
        }
        XCTAssertEqual(try gateway.messages(messagesBody()).status, 200)
        XCTAssertEqual(try firstTokenCount(), 0)
        XCTAssertEqual(try gateway.messages(messagesBody(stream: true)).status, 200)
        XCTAssertEqual(try firstTokenCount(), 1)
    }

    func testStreamedTextFollowsTheEventGrammar() throws {
        let response = try gateway.messages(messagesBody(stream: true))
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.headers["content-type"], "text/event-stream")
        XCTAssertEqual(response.headers["cache-control"], "no-cache")
        XCTAssertEqual(response.headers["x-accel-buffering"], "no")
        let names = response.events.map(\.name)
        XCTAssertEqual(names.first, "message_start")
        XCTAssertEqual(names.last, "message_stop")
        XCTAssertEqual(names.dropLast().last, "message_delta")
        let text = response.events.compactMap { ($0.data["delta"] as? [String: Any])?["text"] as? String }.joined()
        XCTAssertEqual(text, "Hello from the fake Cerebras.")
        let delta = try XCTUnwrap(response.events.first { $0.name == "message_delta" }?.data)
        XCTAssertGreaterThan(((delta["usage"] as? [String: Any])?["output_tokens"] as? Int) ?? 0, 0)
    }

    func testToolCallsArriveWholeWhateverTheUpstreamFragmentation() throws {
        // `resend=1`: each call sent again whole at the end, with its id and name (gpt-oss on Cerebras).
        for scenario in ["tool_split", "tool_interleaved", "tool_whole", "text_then_tool", "reasoning",
                         "tool_split;resend=1", "tool_interleaved;resend=1", "tool_whole;resend=1"] {
            let response = try gateway.messages(messagesBody(stream: true, scenario: scenario))
            XCTAssertEqual(response.status, 200, scenario)
            var inputs: [Int: String] = [:]
            var kinds: [Int: String] = [:]
            for event in response.events {
                let index = event.data["index"] as? Int ?? -1
                if event.name == "content_block_start" {
                    kinds[index] = (event.data["content_block"] as? [String: Any])?["type"] as? String
                }
                if let delta = event.data["delta"] as? [String: Any], let json = delta["partial_json"] as? String {
                    inputs[index, default: ""] += json
                }
            }
            let toolIndexes = kinds.filter { $0.value == "tool_use" }.keys
            XCTAssertFalse(toolIndexes.isEmpty, scenario)
            for index in toolIndexes {
                let json = try XCTUnwrap(inputs[index], scenario)
                XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(json.utf8)), "\(scenario): \(json)")
            }
            if scenario == "reasoning" { XCTAssertEqual(kinds[0], "thinking") }
            let delta = response.events.first { $0.name == "message_delta" }?.data["delta"] as? [String: Any]
            XCTAssertEqual(delta?["stop_reason"] as? String, "tool_use", scenario)
        }
    }

    func testALongToolCallStreamsEveryFragmentOnceInOrder() throws {
        // The benchmark's agent stream (`paced;tool=1`): 300 argument fragments, one upstream chunk each, become one
        // `input_json_delta` each, none merged, dropped or repeated, also with the call sent again whole at the end.
        // Each is a line, `tok{i}` and a newline escaped in the arguments' JSON.
        let lines = (0..<300).map { "tok\($0)" }
        let tokens = lines.map { $0 + "\\n" }
        for scenario in ["paced;chunks=300;interval_ms=0;tool=1", "paced;chunks=300;interval_ms=0;tool=1;resend=1"] {
            let response = try gateway.messages(messagesBody(stream: true, scenario: scenario))
            XCTAssertEqual(response.status, 200, scenario)
            let fragments = response.events.compactMap { event in
                (event.data["delta"] as? [String: Any])?["partial_json"] as? String
            }
            XCTAssertEqual(fragments, [#"{"content":""#] + tokens + [#""}"#], scenario)
            let usage = response.events.first { $0.name == "message_delta" }?.data["usage"] as? [String: Any]
            XCTAssertEqual(usage?["output_tokens"] as? Int, 300, scenario)
        }
        let response = try gateway.messages(messagesBody(scenario: "paced;chunks=300;interval_ms=0;tool=1"))
        XCTAssertEqual(response.status, 200)
        let message = try XCTUnwrap(try response.json() as? [String: Any])
        let blocks = try XCTUnwrap(message["content"] as? [[String: Any]])
        XCTAssertEqual(blocks.count, 1)
        XCTAssertEqual(blocks.first?["name"] as? String, "write_file")
        XCTAssertEqual((blocks.first?["input"] as? [String: Any])?["content"] as? String,
                       lines.map { $0 + "\n" }.joined())
    }

    func testNonStreamedToolCallHasParsedInput() throws {
        for scenario in ["tool_interleaved", "tool_interleaved;resend=1"] {
            let response = try gateway.messages(messagesBody(scenario: scenario))
            XCTAssertEqual(response.status, 200, scenario)
            let message = try XCTUnwrap(try response.json() as? [String: Any], scenario)
            let blocks = try XCTUnwrap(message["content"] as? [[String: Any]], scenario)
            XCTAssertEqual(blocks.compactMap { ($0["input"] as? [String: Any])?["path"] as? String }, ["a.txt", "/tmp"],
                           scenario)
        }
    }

    func testFinishReasonsMap() throws {
        let expected = ["length": "max_tokens", "content_filter": "refusal", "stop_sequence": "stop_sequence"]
        for (scenario, reason) in expected {
            let message = try XCTUnwrap(try gateway.messages(messagesBody(scenario: scenario)).json() as? [String: Any])
            XCTAssertEqual(message["stop_reason"] as? String, reason, scenario)
        }
    }

    func testUpstreamFailuresMapToAnthropicErrors() throws {
        let cases: [(String, Int, String)] = [
            ("rate_limited;retry_after=0", 429, "rate_limit_error"),
            ("server_error", 500, "api_error"),
            ("overloaded", 529, "overloaded_error"),
            ("server_error;status=502", 529, "overloaded_error"),
            ("context_length", 400, "invalid_request_error"),
        ]
        for (scenario, status, type) in cases {
            let response = try gateway.messages(messagesBody(scenario: scenario))
            XCTAssertEqual(response.status, status, scenario)
            let body = try XCTUnwrap(try response.json() as? [String: Any])
            XCTAssertEqual(body["type"] as? String, "error")
            XCTAssertEqual((body["error"] as? [String: Any])?["type"] as? String, type, scenario)
            XCTAssertTrue((body["request_id"] as? String)?.hasPrefix("req_") == true)
        }
        let tooLong = try gateway.messages(messagesBody(scenario: "context_length"))
        XCTAssertTrue(tooLong.text.contains("prompt is too long: 140000 tokens > 131072 maximum"), tooLong.text)
        let limited = try gateway.messages(messagesBody(scenario: "rate_limited;retry_after=0"))
        XCTAssertNotNil(limited.headers["retry-after"])
    }

    func testRetriesBeforeTheFirstByteThenSucceeds() throws {
        try XCTUnwrap(upstream).stats()
        let before = try upstream.stats()["requests"] as? Int ?? 0
        let response = try gateway.messages(messagesBody(scenario: "flaky;fail=2"), headers: [:])
        XCTAssertEqual(response.status, 200, response.text)
        let after = try upstream.stats()["requests"] as? Int ?? 0
        XCTAssertEqual(after - before, 3, "two failed attempts and one success")
    }

    /// An attempt whose connection is lost partway through its answer, before the client saw any content, leaves
    /// nothing of itself in the retry's answer: a partial body or stream line is not carried into the next attempt.
    func testAnAnswerCutOffBeforeAnyContentIsRetriedFromScratch() throws {
        // The fake counts the attempts of all these requests together: the first fails, the second answers; the
        // third fails, the fourth answers. 60 bytes end inside the body, and inside the stream's first chunk.
        let whole = try gateway.messages(messagesBody(scenario: "flaky;fail=1;cut=60"))
        XCTAssertEqual(whole.status, 200, whole.text)
        let message = try XCTUnwrap(try whole.json() as? [String: Any])
        XCTAssertEqual((message["content"] as? [[String: Any]])?.first?["text"] as? String,
                       "Hello from the fake Cerebras.")
        XCTAssertEqual(try upstream.stats()["requests"] as? Int, 2)

        let streamed = try gateway.messages(messagesBody(stream: true, scenario: "flaky;fail=3;cut=60"))
        XCTAssertEqual(streamed.status, 200)
        XCTAssertEqual(streamed.events.filter { $0.name == "message_start" }.count, 1)
        XCTAssertEqual(streamed.events.map(\.name).last, "message_stop")
        let text = streamed.events.compactMap { ($0.data["delta"] as? [String: Any])?["text"] as? String }.joined()
        XCTAssertEqual(text, "Hello from the fake Cerebras.")
        XCTAssertEqual(try upstream.stats()["requests"] as? Int, 4)
    }

    func testRetriesAreBoundedByConfiguration() throws {
        let before = try upstream.stats()["requests"] as? Int ?? 0
        let response = try gateway.messages(messagesBody(scenario: "overloaded"))
        XCTAssertEqual(response.status, 529)
        let after = try upstream.stats()["requests"] as? Int ?? 0
        XCTAssertEqual(after - before, 3, "UPSTREAM_MAX_RETRIES defaults to 2")
    }

    func testMidStreamFailuresEndWithAnErrorEventNeverAFakeCompletion() throws {
        for scenario in ["midstream_error", "drop", "malformed"] {
            let response = try gateway.messages(messagesBody(stream: true, scenario: scenario))
            XCTAssertEqual(response.status, 200, scenario)
            let names = response.events.map(\.name)
            XCTAssertEqual(names.last, "error", "\(scenario): \(names)")
            XCTAssertFalse(names.contains("message_stop"), scenario)
            XCTAssertEqual(names.filter { $0 == "content_block_start" }.count,
                           names.filter { $0 == "content_block_stop" }.count, "\(scenario): open block left open")
        }
    }

    /// A server that does not stream answers the gateway's streamed request with one JSON body, whatever letter case
    /// its media type is spelled in: translated all the same, for a client that streams and one that does not.
    func testAnUpstreamAnsweringOneJSONBodyIsTranslated() throws {
        for contentType in ["application/json", "Application/JSON"] {
            let scenario = "text;ignore_stream=1;content_type=\(contentType)"
            let plain = try gateway.messages(messagesBody(scenario: scenario))
            XCTAssertEqual(plain.status, 200, plain.text)
            let message = try XCTUnwrap(try plain.json() as? [String: Any])
            let content = try XCTUnwrap(message["content"] as? [[String: Any]])
            XCTAssertEqual(content.first?["text"] as? String, "Hello from the fake Cerebras.", contentType)
            let streamed = try gateway.messages(messagesBody(stream: true, scenario: scenario))
            XCTAssertEqual(streamed.status, 200)
            let text = streamed.events.compactMap { ($0.data["delta"] as? [String: Any])?["text"] as? String }.joined()
            XCTAssertEqual(text, "Hello from the fake Cerebras.", contentType)
            XCTAssertEqual(streamed.events.map(\.name).last, "message_stop", contentType)
        }
    }

    func testNoDoneAfterACompleteAnswerIsStillComplete() throws {
        let response = try gateway.messages(messagesBody(stream: true, scenario: "no_done"))
        XCTAssertEqual(response.events.map(\.name).last, "message_stop")
    }

    func testUTF8SplitAcrossTCPWritesSurvives() throws {
        let response = try gateway.messages(messagesBody(stream: true, scenario: "utf8_split"))
        let text = response.events.compactMap { ($0.data["delta"] as? [String: Any])?["text"] as? String }.joined()
        XCTAssertTrue(text.contains("héllo wörld 你好 🎉"), text)
    }

    func testSSECommentsAreIgnored() throws {
        let response = try gateway.messages(messagesBody(stream: true, scenario: "sse_comments"))
        XCTAssertEqual(response.events.map(\.name).last, "message_stop")
    }

    func testUpstreamRequestIsTranslatedAndAnthropicHeadersStayBehind() throws {
        let response = try gateway.messages(messagesBody(scenario: "echo"),
                                            headers: ["x-api-key": "test-key", "anthropic-beta": "secret-beta-flag",
                                                      "anthropic-version": "2023-06-01"])
        XCTAssertEqual(response.status, 200)
        let stats = try upstream.stats()
        let sent = try XCTUnwrap(stats["last_request"] as? [String: Any])
        XCTAssertEqual(sent["model"] as? String, "zai-glm-4.7")
        // A non-streaming client's answer is asked for whole.
        XCTAssertNil(sent["stream"])
        XCTAssertNil(sent["stream_options"])
        XCTAssertNotNil(sent["max_completion_tokens"])
        let headers = try XCTUnwrap(stats["last_headers"] as? [String: Any])
        XCTAssertNil(headers["anthropic-beta"])
        XCTAssertEqual(headers["authorization"] as? String, "Bearer csk-test-upstream")
        XCTAssertEqual(headers["content-type"] as? String, "application/json")
        // No `Accept` of the gateway's: curl's own `*/*` (each byte of a field costs curl 7.88 about a hundred
        // instructions to format, and the answer's type comes from the body's `stream`).
        XCTAssertEqual(headers["accept"] as? String, "*/*")
        XCTAssertEqual(headers["user-agent"] as? String, "cerebras-gateway")
        XCTAssertNil(headers["expect"])
        // The second request reuses the easy handle (not reset): the same fields, nothing doubled.
        XCTAssertEqual(try gateway.messages(messagesBody(scenario: "echo"), headers: ["x-api-key": "test-key"]).status, 200)
        XCTAssertEqual(try XCTUnwrap(try upstream.stats()["last_headers"] as? [String: Any]) as NSDictionary,
                       headers as NSDictionary)
        // A streaming client's is asked for as a stream, its usage in the last chunk.
        XCTAssertEqual(try gateway.messages(messagesBody(stream: true, scenario: "echo"),
                                            headers: ["x-api-key": "test-key"]).status, 200)
        let streamed = try XCTUnwrap(try upstream.stats()["last_request"] as? [String: Any])
        XCTAssertEqual(streamed["stream"] as? Bool, true)
        XCTAssertEqual((streamed["stream_options"] as? [String: Any])?["include_usage"] as? Bool, true)
    }

    /// Claude Code's request sent twice, the second time continued by two messages: the second request's tools, system
    /// prompt and the start of its conversation come from the worker's memos, and both go upstream exactly as the memo-less
    /// translation would send them.
    func testAConversationContinuedIsReusedAndGoesUpstreamUnchanged() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/claude-code-request/anthropic.request.json")
        guard case .object(var object) = try JSONParser.parse([UInt8](try Data(contentsOf: fixture))),
            case .array(var messages) = object["messages"]
        else { return XCTFail("the fixture is not a messages body") }
        let first = JSONValue.object(object).serialized
        messages.append(.object(JSONObject([("role", .string("assistant")), ("content", .string("Done."))])))
        messages.append(.object(JSONObject([("role", .string("user")), ("content", .string("Thanks [[scenario:echo]]"))])))
        object["messages"] = .array(messages)
        let second = JSONValue.object(object).serialized

        // This gateway's configuration (GatewayUnderTest's), through the translation without the memos.
        let config = try GatewayConfig(source: ConfigSource(values: [
            "CEREBRAS_API_KEY": "csk-test-upstream", "GATEWAY_API_KEYS": "test-key", "PROMPT_TUNING": "false",
        ]), cpuCount: 1)
        func expectedUpstream(_ body: [UInt8]) throws -> NSDictionary {
            let request = try Anthropic.MessagesRequest(json: JSONParser.parse(body))
            let translated = try AnthropicToOpenAI.translate(request, catalog: config.catalog, options: config.translation)
            return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(translated.upstream.jsonBytes())) as? NSDictionary)
        }
        func lookups(_ memo: String, _ result: String) throws -> String? {
            let metrics = try httpRequest(port: gateway.port, method: "GET", path: "/metrics").text
            let prefix = "cerebras_gateway_\(memo)_memo_lookups_total{result=\"\(result)\"} "
            return metrics.split(separator: "\n").first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
        }

        for (body, known) in [(first, "0"), (second, "1")] {
            let response = try httpRequest(port: gateway.port, path: "/v1/messages", headers: ["x-api-key": "test-key"],
                                           body: body)
            XCTAssertEqual(response.status, 200, response.text)
            let sent = try XCTUnwrap(try upstream.stats()["last_request"] as? NSDictionary)
            XCTAssertEqual(sent, try expectedUpstream(body))
            for memo in ["tool", "system", "conversation"] {
                XCTAssertEqual(try lookups(memo, "known"), known, memo)
                XCTAssertEqual(try lookups(memo, "new"), "1", memo)
            }
        }
    }
}
