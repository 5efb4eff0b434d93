/// A gateway client key, known only by its SHA-256 digest, with optional per-key limits.
public struct GatewayKey: Sendable, Equatable {
    public var digest: [UInt8]
    public var requestsPerMinute: Int?
    public var tokensPerMinute: Int?
    /// Requested model ids this key may use (globs); nil allows every model.
    public var allowedModels: [Glob]?

    public init(digest: [UInt8], requestsPerMinute: Int? = nil, tokensPerMinute: Int? = nil,
                allowedModels: [Glob]? = nil) {
        self.digest = digest
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerMinute = tokensPerMinute
        self.allowedModels = allowedModels
    }
}

/// The typed, validated configuration. Built once at start (and on reload) from a `ConfigSource`.
public struct GatewayConfig: Sendable, Equatable {
    public var upstreamKeys: [String]
    public var upstreamBaseURL: String
    public var upstreamConnectTimeoutMs: Int
    public var upstreamFirstByteTimeout: Double
    public var upstreamIdleTimeout: Double
    public var upstreamMaxRetries: Int
    public var upstreamRetryBudget: Double
    public var upstreamRetryBaseMs: Int
    public var upstreamVerifyTLS: Bool
    /// `UPSTREAM_CA_FILE`: the PEM file of the CA certificates trusted for the upstream; nil: libcurl's built-in
    /// bundle. The loader has checked that it is readable and holds a certificate.
    public var upstreamCAFile: String?
    /// Requests an event loop's upstream client may multiplex on one HTTP/2 connection; 1 turns multiplexing off.
    public var upstreamStreamsPerConnection: Int

    public var catalog: ModelCatalog
    public var translation: TranslationOptions
    /// Distinct tool lists a worker keeps decoded and translated (`ToolListMemo`); 0 keeps none.
    public var toolMemoEntries: Int
    /// Distinct system prompts a worker keeps decoded and translated (`SystemPromptMemo`); 0 keeps none.
    public var systemMemoEntries: Int
    /// `CONVERSATION_MEMO_MB` in bytes.
    public var conversationMemoBytes: Int

    public var gatewayKeys: [GatewayKey]
    public var passthroughKeys: Bool
    public var allowUnauthenticated: Bool

    public var host: String
    public var port: Int
    public var workers: Int
    public var adminHost: String
    /// -1 disables the admin listener.
    public var adminPort: Int
    public var maxBodyBytes: Int
    public var maxHeaderBytes: Int
    public var maxConcurrentUpstream: Int
    public var idleTimeout: Double
    public var requestTimeout: Double
    public var pingInterval: Double
    public var drainTimeout: Double
    /// `IDLE_MEMORY_RELEASE_SECONDS`; 0: never.
    public var idleMemoryRelease: Double
    public var heartbeatTimeout: Double
    public var logLevel: String
    public var logFile: String?

    /// nil: embedded single-node mode.
    public var redisURL: RedisURL?
    public var redisTimeoutMs: Int
    public var instanceID: String?
    public var rateLimitEnabled: Bool
    public var rateLimitRPM: Int
    public var rateLimitTPM: Int
    /// The largest rate-limit lease a worker loop takes from Redis, in requests; 0: every request asks Redis.
    public var rateLimitLease: Int
    public var rateLimitFailOpen: Bool
    public var cacheEnabled: Bool
    public var cacheTTLSeconds: Int
    public var cacheMaxBytes: Int
    public var cacheMaxEntryBytes: Int

    /// - Parameters:
    ///   - keysFileContents: the text of `GATEWAY_KEYS_FILE` when set (read by the caller: this type does no I/O).
    ///   - cpuCount: the default for `WORKERS`.
    public init(source: ConfigSource, keysFileContents: String? = nil, cpuCount: Int) throws(ConfigError) {
        upstreamKeys = source.list("CEREBRAS_API_KEYS")
        if let single = source["CEREBRAS_API_KEY"], !upstreamKeys.contains(single) { upstreamKeys.insert(single, at: 0) }
        upstreamBaseURL = source.string("CEREBRAS_BASE_URL", default: "https://api.cerebras.ai/v1")
        while upstreamBaseURL.hasSuffix("/") { upstreamBaseURL.removeLast() }
        guard upstreamBaseURL.hasPrefix("http://") || upstreamBaseURL.hasPrefix("https://") else {
            throw ConfigError(option: "CEREBRAS_BASE_URL", problem: "\"\(upstreamBaseURL)\" is not an http(s) URL",
                              fix: "set e.g. https://api.cerebras.ai/v1")
        }
        upstreamConnectTimeoutMs = try source.int("UPSTREAM_CONNECT_TIMEOUT_MS", default: 5000, range: 1...600_000)
        upstreamFirstByteTimeout = try source.double("UPSTREAM_FIRST_BYTE_TIMEOUT_SECONDS", default: 120, range: 0.01...3600)
        upstreamIdleTimeout = try source.double("UPSTREAM_IDLE_TIMEOUT_SECONDS", default: 60, range: 0.01...3600)
        upstreamMaxRetries = try source.int("UPSTREAM_MAX_RETRIES", default: 2, range: 0...10)
        upstreamRetryBudget = try source.double("UPSTREAM_RETRY_BUDGET_SECONDS", default: 30, range: 0...600)
        upstreamRetryBaseMs = try source.int("UPSTREAM_RETRY_BASE_MS", default: 250, range: 1...60_000)
        upstreamVerifyTLS = try source.bool("UPSTREAM_VERIFY_TLS", default: true)
        upstreamCAFile = source["UPSTREAM_CA_FILE"]
        upstreamStreamsPerConnection = try source.int("UPSTREAM_STREAMS_PER_CONNECTION", default: 1, range: 1...1000)

        catalog = try Self.catalog(from: source)
        let clamp = source["MAX_OUTPUT_TOKENS"] == nil
            ? nil : try source.int("MAX_OUTPUT_TOKENS", default: 0, range: 1...1_000_000)
        translation = TranslationOptions(
            promptTuning: try source.bool("PROMPT_TUNING", default: true), maxOutputTokensClamp: clamp,
            unsupportedMediaPlaceholder: source["UNSUPPORTED_MEDIA_PLACEHOLDER"])
        toolMemoEntries = try source.int("TOOL_MEMO_ENTRIES", default: 16, range: 0...1024)
        systemMemoEntries = try source.int("SYSTEM_MEMO_ENTRIES", default: 16, range: 0...1024)
        conversationMemoBytes = try source.int("CONVERSATION_MEMO_MB", default: 32, range: 0...4096) * 1024 * 1024

        gatewayKeys = source.list("GATEWAY_API_KEYS").map { GatewayKey(digest: SHA256Digest.digest(utf8Of: $0)) }
        if let keysFileContents { gatewayKeys += try Self.parseKeysFile(keysFileContents) }
        passthroughKeys = try source.bool("PASSTHROUGH_KEYS", default: false)
        allowUnauthenticated = try source.bool("ALLOW_UNAUTHENTICATED", default: false)
        if gatewayKeys.isEmpty, !passthroughKeys, !allowUnauthenticated {
            throw ConfigError(option: "GATEWAY_API_KEYS", problem: "no client key is configured",
                              fix: "set GATEWAY_API_KEYS or GATEWAY_KEYS_FILE, enable PASSTHROUGH_KEYS, "
                                  + "or set ALLOW_UNAUTHENTICATED=true to serve without keys")
        }
        if upstreamKeys.isEmpty, !passthroughKeys {
            throw ConfigError(option: "CEREBRAS_API_KEY", problem: "no upstream key is configured",
                              fix: "set CEREBRAS_API_KEY (or CEREBRAS_API_KEYS), or enable PASSTHROUGH_KEYS")
        }

        host = source.string("HOST", default: "0.0.0.0")
        port = try source.int("PORT", default: 8080, range: 0...65_535)
        workers = try source.int("WORKERS", default: max(1, cpuCount), range: 1...256)
        adminHost = source.string("ADMIN_HOST", default: "127.0.0.1")
        adminPort = try source.int("ADMIN_PORT", default: 9090, range: -1...65_535)
        maxBodyBytes = try source.int("MAX_BODY_BYTES", default: 32 * 1024 * 1024, range: 1024...(1 << 30))
        maxHeaderBytes = try source.int("MAX_HEADER_BYTES", default: 64 * 1024, range: 1024...(1 << 20))
        maxConcurrentUpstream = try source.int("MAX_CONCURRENT_UPSTREAM", default: 512, range: 1...100_000)
        idleTimeout = try source.double("IDLE_TIMEOUT_SECONDS", default: 75, range: 0.1...86_400)
        requestTimeout = try source.double("REQUEST_TIMEOUT_SECONDS", default: 30, range: 0.1...3600)
        pingInterval = try source.double("PING_INTERVAL_SECONDS", default: 10, range: 0.05...300)
        drainTimeout = try source.double("DRAIN_TIMEOUT_SECONDS", default: 30, range: 0...3600)
        idleMemoryRelease = try source.double("IDLE_MEMORY_RELEASE_SECONDS", default: 10, range: 0...86_400)
        heartbeatTimeout = try source.double("HEARTBEAT_TIMEOUT_SECONDS", default: 10, range: 1...3600)
        logLevel = source.string("LOG_LEVEL", default: "info").lowercased()
        guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(logLevel) else {
            throw ConfigError(option: "LOG_LEVEL", problem: "unknown level \"\(logLevel)\"",
                              fix: "use trace, debug, info, notice, warning, error or critical")
        }
        logFile = source["LOG_FILE"]

        if let text = source["REDIS_URL"] {
            do {
                redisURL = try RedisURL(parsing: text)
            } catch {
                throw ConfigError(
                    option: "REDIS_URL", problem: "\(error)",
                    fix: "write redis://[:password@]host:port[/db] or unix://[:password@]/path/to/redis.sock[?db=N]")
            }
        } else {
            redisURL = nil
        }
        redisTimeoutMs = try source.int("REDIS_TIMEOUT_MS", default: 50, range: 1...60_000)
        instanceID = source["INSTANCE_ID"]
        rateLimitEnabled = try source.bool("RATE_LIMIT_ENABLED", default: false)
        rateLimitRPM = try source.int("RATE_LIMIT_RPM", default: 60, range: 0...100_000_000)
        rateLimitTPM = try source.int("RATE_LIMIT_TPM", default: 1_000_000, range: 0...1_000_000_000_000)
        rateLimitLease = try source.int("RATE_LIMIT_LEASE", default: 64, range: 0...10_000)
        rateLimitFailOpen = try source.bool("RATE_LIMIT_FAIL_OPEN", default: true)
        cacheEnabled = try source.bool("CACHE_ENABLED", default: false)
        cacheTTLSeconds = try source.int("CACHE_TTL_SECONDS", default: 3600, range: 1...30 * 86_400)
        cacheMaxBytes = try source.int("CACHE_MAX_BYTES", default: 64 * 1024 * 1024, range: 0...(1 << 40))
        cacheMaxEntryBytes = try source.int("CACHE_MAX_ENTRY_BYTES", default: 1024 * 1024, range: 1...(1 << 30))
    }

    static func catalog(from source: ConfigSource) throws(ConfigError) -> ModelCatalog {
        var rules: [ModelCatalog.Rule] = []
        for entry in source.list("MODEL_MAP").isEmpty ? ["claude-*haiku*=gpt-oss-120b", "*=zai-glm-4.7"]
            : source.list("MODEL_MAP")
        {
            let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmed(" ") }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw ConfigError(option: "MODEL_MAP", problem: "\"\(entry)\" is not pattern=model",
                                  fix: "write e.g. claude-*haiku*=llama3.1-8b,*=zai-glm-4.7")
            }
            rules.append(ModelCatalog.Rule(pattern: parts[0], target: parts[1]))
        }
        var profiles = ModelProfile.builtIn
        for spec in (source["MODEL_PROFILES"] ?? "").split(separator: ";") {
            profiles.append(try parseProfile(String(spec), base: profiles))
        }
        let aliases = source.list("MODEL_ALIASES")
        return ModelCatalog(rules: rules, profiles: profiles,
                            aliases: aliases.isEmpty ? ModelCatalog.defaultAliases : aliases)
    }

    /// `name:context=131072,max_output=40000,vision=false,reasoning=effort`
    static func parseProfile(_ spec: String, base: [ModelProfile]) throws(ConfigError) -> ModelProfile {
        let fix = "write name:context=N,max_output=N,vision=true|false,reasoning=effort|disable|none"
        let parts = spec.split(separator: ":", maxSplits: 1).map { $0.trimmed(" ") }
        guard let name = parts.first, !name.isEmpty else {
            throw ConfigError(option: "MODEL_PROFILES", problem: "\"\(spec)\" has no model name", fix: fix)
        }
        var profile = base.last(where: { $0.name == name }) ?? .fallback(for: name)
        for setting in (parts.count > 1 ? parts[1] : "").split(separator: ",") {
            let pair = setting.split(separator: "=", maxSplits: 1).map { $0.trimmed(" ") }
            guard pair.count == 2 else {
                throw ConfigError(option: "MODEL_PROFILES", problem: "\"\(setting)\" is not key=value", fix: fix)
            }
            switch (pair[0], pair[1]) {
            case ("context", let value):
                guard let number = Int(value), number > 0 else {
                    throw ConfigError(option: "MODEL_PROFILES", problem: "context \"\(value)\" is not a positive integer", fix: fix)
                }
                profile.contextWindow = number
            case ("max_output", let value):
                guard let number = Int(value), number > 0 else {
                    throw ConfigError(option: "MODEL_PROFILES", problem: "max_output \"\(value)\" is not a positive integer", fix: fix)
                }
                profile.maxOutputTokens = number
            case ("vision", let value):
                profile.supportsVision = value == "true" || value == "1"
            case ("reasoning", let value):
                guard let control = ModelProfile.ReasoningControl(rawValue: value) else {
                    throw ConfigError(option: "MODEL_PROFILES", problem: "unknown reasoning control \"\(value)\"", fix: fix)
                }
                profile.reasoning = control
            default:
                throw ConfigError(option: "MODEL_PROFILES", problem: "unknown setting \"\(pair[0])\"", fix: fix)
            }
        }
        return profile
    }

    /// One key per line: a SHA-256 hex digest, optionally followed by `rpm=N`, `tpm=N` and `models=GLOB|GLOB…`
    /// (the requested model ids the key may use). `#` starts a comment.
    public static func parseKeysFile(_ text: String) throws(ConfigError) -> [GatewayKey] {
        var keys: [GatewayKey] = []
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first
                .map { $0.trimmed(" \t\r") } ?? ""
            if line.isEmpty { continue }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let digest = SHA256Digest.parseHex(String(fields[0])) else {
                throw ConfigError(option: "GATEWAY_KEYS_FILE line \(number + 1)",
                                  problem: "not a SHA-256 hex digest",
                                  fix: "store `printf %s KEY | sha256sum | cut -d' ' -f1`, never the key itself")
            }
            var key = GatewayKey(digest: digest)
            for field in fields.dropFirst() {
                let pair = field.split(separator: "=", maxSplits: 1)
                let option = "GATEWAY_KEYS_FILE line \(number + 1)"
                if pair.count == 2, pair[0] == "models" {
                    key.allowedModels = pair[1].split(separator: "|").map { Glob(String($0)) }
                    continue
                }
                guard pair.count == 2, let value = Int(pair[1]), value >= 0 else {
                    throw ConfigError(option: option, problem: "\"\(field)\" is not rpm=N, tpm=N or models=GLOB|GLOB",
                                      fix: "write rpm=120 tpm=500000 models=claude-*haiku*")
                }
                switch pair[0] {
                case "rpm": key.requestsPerMinute = value
                case "tpm": key.tokensPerMinute = value
                default:
                    throw ConfigError(option: option, problem: "unknown setting \"\(pair[0])\"",
                                      fix: "use rpm=N, tpm=N and models=GLOB|GLOB")
                }
            }
            keys.append(key)
        }
        return keys
    }
}
