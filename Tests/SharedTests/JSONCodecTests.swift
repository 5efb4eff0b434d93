import Shared
import Testing

@Suite("JSON parser and writer")
struct JSONCodecTests {
    @Test("round trip keeps key order and number text")
    func roundTrip() throws {
        let text = #"{"b":1,"a":[true,false,null,1.50,-2e10,"x\"y\\z\n\u00e9\ud83c\udf89"],"c":{}}"#
        let value = try JSONParser.parse(text)
        #expect(value.serializedString == #"{"b":1,"a":[true,false,null,1.50,-2e10,"x\"y\\z\né🎉"],"c":{}}"#)
        #expect(value["b"]?.intValue == 1)
    }

    @Test("rejects malformed documents with an offset", arguments: [
        "", "{", "[1,]", "{\"a\" 1}", "01", "1.", "-", "\"\\x\"", "tru", "{\"a\":1}x", "\"a\u{01}\"",
    ])
    func rejects(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test("hostile nesting is refused, not a stack overflow")
    func deepNesting() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
        let fine = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect((try? JSONParser.parse(fine)) != nil)
    }

    @Test("invalid UTF-8 is an error")
    func invalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xFF, 0x22]) }
    }

    @Test("lone surrogates become U+FFFD instead of failing")
    func loneSurrogate() throws {
        #expect(try JSONParser.parse(#""\ud800x""#) == .string("\u{FFFD}x"))
    }

    @Test("writer escapes control characters")
    func escapes() {
        #expect(JSONValue.string("a\u{01}\t\"").serializedString == #""a\u0001\t\"""#)
    }

    @Test("numbers out of range stay exact text but are not integers")
    func bigNumbers() throws {
        let value = try JSONParser.parse("123456789012345678901234567890")
        #expect(value.serializedString == "123456789012345678901234567890")
        #expect(value.intValue == nil)
    }
}

@Suite("SSE parser")
struct SSEParserTests {
    @Test("events, comments, multi-line data, CRLF and CR line ends")
    func grammar() throws {
        var parser = SSEParser()
        parser.append(Array(": comment\r\nevent: x\r\ndata: a\r\ndata: b\r\n\r\ndata:c\r\rdata: d\n\n".utf8))
        var events: [SSEParser.Event] = []
        while let event = try parser.next() { events.append(event) }
        #expect(events.map { String(decoding: $0.data, as: UTF8.self) } == ["a\nb", "c", "d"])
        #expect(events.first?.name == "x")
    }

    @Test("the same events whatever the split: every cut point, and byte by byte")
    func splits() throws {
        let input = Array(": c\r\nevent: x\r\ndata: a\r\ndata: b\r\n\r\ndata:c\r\rdata: d\n\ndata: e\r\n\r\n".utf8)
        func events(_ pieces: [ArraySlice<UInt8>]) throws -> [String] {
            var parser = SSEParser()
            var events: [String] = []
            for piece in pieces {
                parser.append(piece)
                while let event = try parser.next() { events.append(String(decoding: event.data, as: UTF8.self)) }
            }
            return events
        }
        let whole = try events([input[...]])
        #expect(whole == ["a\nb", "c", "d", "e"])
        var partial = SSEParser()
        partial.append(Array("data: a\n\ndata: par".utf8))
        _ = try partial.next()
        #expect(try partial.next() == nil)
        #expect(partial.pendingByteCount == "data: par".utf8.count)
        for cut in 0...input.count {
            #expect(try events([input[..<cut], input[cut...]]) == whole, "cut at \(cut)")
        }
        #expect(try events(input.indices.map { input[$0...$0] }) == whole)
    }

    @Test("a line longer than the limit is an error, not unbounded memory")
    func lineLimit() {
        var parser = SSEParser(maxLineBytes: 1024)
        parser.append(Array(repeating: UInt8(ascii: "a"), count: 4096))
        #expect(throws: SSEParser.ParseError.self) { try parser.next() }
    }
}

@Suite("Model map globs")
struct GlobTests {
    @Test("patterns", arguments: [
        ("claude-*haiku*", "claude-3-5-haiku-20241022", true), ("claude-*haiku*", "claude-sonnet-4-5", false),
        ("*", "anything", true), ("claude-sonnet-4-5*", "claude-sonnet-4-5[1m]", true),
        ("CLAUDE-*", "claude-x", true), ("a?c", "abc", true), ("a?c", "ac", false), ("*a*b*", "xaybz", true),
        ("claude-*haiku*", "Claude-3-5-HAIKU", true), ("café-*", "CAFÉ-Model", true), ("café-?", "CAFE-1", false),
        ("*", "", true), ("**", "ÜBER-model", true), ("", "", true), ("", "a", false), ("*?", "", false),
        ("a**", "a", true), ("a*?*", "a", false), ("a*?*", "ab", true), ("*a*", "xyz", false), ("a*", "b", false),
    ])
    func matches(_ pattern: String, _ text: String, _ expected: Bool) {
        #expect(Glob(pattern).matches(text) == expected)
    }

    @Test("first matching rule wins; unmatched ids are nil")
    func catalog() {
        let catalog = ModelCatalog(rules: [.init(pattern: "claude-*haiku*", target: "llama3.1-8b")])
        #expect(catalog.resolve("claude-haiku-4-5")?.name == "llama3.1-8b")
        #expect(catalog.resolve("claude-opus-4-5") == nil)
        #expect(ModelCatalog().resolve("claude-opus-4-5-20251101[1m]")?.name == "zai-glm-4.7")
    }

    @Test("rules and profiles changed after the catalog is made are the ones resolved")
    func changedCatalog() {
        var catalog = ModelCatalog()
        catalog.rules = [.init(pattern: "claude-*", target: "qwen-3-32b"), .init(pattern: "*", target: "custom-model")]
        #expect(catalog.resolve("claude-opus-4-5") == ModelProfile.builtIn.first { $0.name == "qwen-3-32b" })
        #expect(catalog.resolve("gpt-4o") == .fallback(for: "custom-model"))
        catalog.profiles["qwen-3-32b"]?.contextWindow = 1_000
        catalog.profiles["custom-model"] = ModelProfile(name: "custom-model", contextWindow: 2_000, maxOutputTokens: 100)
        #expect(catalog.resolve("claude-opus-4-5")?.contextWindow == 1_000)
        #expect(catalog.resolve("gpt-4o")?.contextWindow == 2_000)
    }
}

@Suite("Token estimator")
struct TokenEstimatorTests {
    @Test("never zero for non-blank text")
    func nonZero() {
        for text in ["a", ".", "é", "🎉", "x y"] { #expect(TokenEstimator.count(text) > 0) }
    }

    @Test("monotonic under appending")
    func monotonic() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("abc XYZ 012 .,;{}\"\n é你🎉")
        var text = ""
        var previous = 0
        for _ in 0..<2000 {
            text.append(alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))])
            let count = TokenEstimator.count(text)
            #expect(count >= previous)
            previous = count
        }
    }

    @Test("English prose lands near four characters per token")
    func prose() {
        let text = String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 100)
        let count = TokenEstimator.count(text)
        #expect(count > 900 && count < 1400, "\(count)")
    }
}

@Suite("Configuration")
struct ConfigTests {
    private func config(_ values: [String: String]) throws(ConfigError) -> GatewayConfig {
        try GatewayConfig(source: ConfigSource(values: values), cpuCount: 2)
    }

    @Test("defaults and required keys")
    func defaults() throws {
        let config = try config(["CEREBRAS_API_KEY": "csk-x", "GATEWAY_API_KEYS": "a,b"])
        #expect(config.port == 8080 && config.workers == 2 && config.maxBodyBytes == 32 * 1024 * 1024)
        #expect(config.gatewayKeys.count == 2)
        #expect(config.upstreamBaseURL == "https://api.cerebras.ai/v1")
        #expect(throws: ConfigError.self) { try self.config(["CEREBRAS_API_KEY": "csk-x"]) }
        #expect(throws: ConfigError.self) { try self.config(["GATEWAY_API_KEYS": "a"]) }
        #expect((try? self.config(["PASSTHROUGH_KEYS": "true"])) != nil)
    }

    @Test("the documented defaults (ConfigOption, .env.example, --help) are the ones in effect")
    func documentedDefaults() throws {
        let required = ["CEREBRAS_API_KEY": "k", "GATEWAY_API_KEYS": "a"]
        var documented = required
        for option in ConfigOption.all where !option.defaultValue.isEmpty { documented[option.name] = option.defaultValue }
        documented["ENV_FILE"] = nil
        #expect(try config(documented) == config(required))
    }

    @Test("bad values name the option and the fix")
    func badValues() {
        expectError(["PORT": "seventy"], option: "PORT", mentioning: "whole number")
        #expect(throws: ConfigError.self) {
            try self.config(["CEREBRAS_API_KEY": "k", "ALLOW_UNAUTHENTICATED": "true", "REDIS_URL": "rediss://x"])
        }
        #expect(throws: ConfigError.self) {
            try self.config(["CEREBRAS_API_KEY": "k", "ALLOW_UNAUTHENTICATED": "true", "MODEL_MAP": "nonsense"])
        }
        expectError(["REDIS_URL": "unix://redis.sock"], option: "REDIS_URL",
                    mentioning: "unix://[:password@]/path/to/redis.sock")
    }

    /// `values` (with an upstream key and no gateway keys needed) must be refused, naming `option` and `text`.
    private func expectError(_ values: [String: String], option: String, mentioning text: String) {
        do {
            _ = try config(values.merging(["CEREBRAS_API_KEY": "k", "ALLOW_UNAUTHENTICATED": "true"]) { $1 })
            Issue.record("expected an error for \(values)")
        } catch {
            #expect(error.option == option)
            #expect(error.description.contains(text), "\(error)")
        }
    }

    @Test("REDIS_URL names a TCP address or a Unix socket")
    func redisURL() throws {
        let required = ["CEREBRAS_API_KEY": "k", "GATEWAY_API_KEYS": "a"]
        var values = required
        values["REDIS_URL"] = "redis://cache:6380/1"
        #expect(try config(values).redisURL?.endpoint == .tcp(host: "cache", port: 6380))
        values["REDIS_URL"] = "unix:///run/redis/redis-server.sock?db=2"
        let socket = try config(values).redisURL
        #expect(socket?.endpoint == .unixSocket(path: "/run/redis/redis-server.sock") && socket?.database == 2)
        #expect(try config(required).redisURL == nil)
    }

    @Test("precedence: flags over environment over .env")
    func precedence() throws {
        let source = try ConfigSource.merge(
            environment: ["PORT": "2", "HOST": "h-env"], envFile: "PORT=1\nHOST=h-file\nWORKERS=3 # comment\nexport X='q'",
            arguments: ["--port", "3", "--log-level=debug"])
        #expect(source["PORT"] == "3")
        #expect(source["HOST"] == "h-env")
        #expect(source["WORKERS"] == "3")
        #expect(source["X"] == "q")
        #expect(source["LOG_LEVEL"] == "debug")
    }

    @Test("model map and profiles")
    func models() throws {
        let config = try config([
            "CEREBRAS_API_KEY": "k", "ALLOW_UNAUTHENTICATED": "true",
            "MODEL_MAP": "claude-*haiku*=llama3.1-8b, *=qwen-3-32b",
            "MODEL_PROFILES": "qwen-3-32b:context=1000,max_output=10,vision=true,reasoning=none",
        ])
        #expect(config.catalog.resolve("claude-haiku-4-5")?.name == "llama3.1-8b")
        let profile = config.catalog.resolve("claude-opus-4")
        #expect(profile?.contextWindow == 1000 && profile?.maxOutputTokens == 10 && profile?.supportsVision == true)
    }

    @Test("keys file holds digests with per-key limits")
    func keysFile() throws {
        let digest = SHA256Digest.hex(Array("secret".utf8))
        let keys = try GatewayConfig.parseKeysFile("# team keys\n\(digest) rpm=10 tpm=500 models=claude-*haiku*|x\n")
        #expect(keys.count == 1 && keys[0].requestsPerMinute == 10 && keys[0].tokensPerMinute == 500)
        #expect(keys[0].allowedModels?.map(\.pattern) == ["claude-*haiku*", "x"])
        #expect(throws: ConfigError.self) { try GatewayConfig.parseKeysFile("plain-key-not-a-digest\n") }
    }
}

@Suite("Upstream error mapping")
struct UpstreamErrorMappingTests {
    @Test("Cerebras flat bodies by status and code", arguments: [
        (429, #"{"message":"m","type":"too_many_requests_error","code":"request_quota_exceeded"}"#, "rate_limit_error", 429),
        (429, #"{"message":"m","type":"too_many_requests_error","code":"queue_exceeded"}"#, "overloaded_error", 529),
        (503, #"{"message":"busy"}"#, "overloaded_error", 529),
        (500, #"{"message":"boom"}"#, "api_error", 500),
        (400, #"{"message":"bad","type":"invalid_request_error","code":"wrong_api_format"}"#, "invalid_request_error", 400),
        (401, #"{"message":"no"}"#, "api_error", 500),
        (502, "<html>bad gateway</html>", "overloaded_error", 529),
    ])
    func map(_ status: Int, _ body: String, _ type: String, _ clientStatus: Int) {
        let error = UpstreamErrorMapping.map(status: status, body: Array(body.utf8), retryAfter: nil)
        #expect(error.type == type)
        #expect(error.status == clientStatus)
    }

    @Test("context overflow becomes Claude Code's exact text")
    func contextOverflow() {
        let body = #"{"message":"Please reduce the length of the messages or completion. Current length is 140000 while limit is 131072","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}"#
        let error = UpstreamErrorMapping.map(status: 400, body: Array(body.utf8), retryAfter: nil)
        #expect(error.message == "prompt is too long: 140000 tokens > 131072 maximum")
    }

    @Test("error body shape")
    func body() {
        let text = String(decoding: GatewayError(.notFound, "nope").body(requestID: "req_1"), as: UTF8.self)
        #expect(text == #"{"type":"error","error":{"type":"not_found_error","message":"nope"},"request_id":"req_1"}"#)
    }
}

@Suite("SSE parser cost")
struct SSEParserCostTests {
    @Test("a long line in small pieces is scanned once, not once per piece")
    func linearInLineLength() throws {
        var parser = SSEParser()
        let piece = [UInt8](repeating: UInt8(ascii: "a"), count: 64)
        parser.append(Array("data: ".utf8))
        // 4 MiB in 64-byte pieces: quadratic rescanning would examine ~137 billion bytes and never finish here.
        for _ in 0..<(4 * 1024 * 1024 / 64) {
            parser.append(piece)
            #expect(try parser.next() == nil)
        }
        parser.append(Array("\n\n".utf8))
        let event = try #require(try parser.next())
        #expect(event.data.count == 4 * 1024 * 1024)
    }
}
