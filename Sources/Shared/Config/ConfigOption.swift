/// Every configuration option, once: the source of `--help`, `.env.example` and the README table.
public struct ConfigOption: Sendable {
    public let name: String
    public let defaultValue: String
    public let summary: String
    public let group: String

    public static let all: [ConfigOption] = [
        // Upstream
        .init("CEREBRAS_API_KEY", "", "Cerebras API key (csk-…) used for upstream calls", "Upstream"),
        .init("CEREBRAS_API_KEYS", "", "Comma-separated pool of keys, round-robin; a key that got 429 cools down", "Upstream"),
        .init("CEREBRAS_BASE_URL", "https://api.cerebras.ai/v1", "Upstream base URL; requests go to {base}/chat/completions", "Upstream"),
        .init("UPSTREAM_CONNECT_TIMEOUT_MS", "5000", "TCP+TLS connect timeout", "Upstream"),
        .init("UPSTREAM_FIRST_BYTE_TIMEOUT_SECONDS", "120", "Longest wait for the upstream's response headers (for a non-streamed answer, the whole answer)", "Upstream"),
        .init("UPSTREAM_IDLE_TIMEOUT_SECONDS", "60", "Longest silence between two upstream chunks", "Upstream"),
        .init("UPSTREAM_MAX_RETRIES", "2", "Retries on connect errors, 429 and 5xx before the first byte", "Upstream"),
        .init("UPSTREAM_RETRY_BUDGET_SECONDS", "30", "Total time retries may take", "Upstream"),
        .init("UPSTREAM_RETRY_BASE_MS", "250", "First back-off step (doubles, jittered)", "Upstream"),
        .init("UPSTREAM_VERIFY_TLS", "true", "Verify the upstream's TLS certificate", "Upstream"),
        .init("UPSTREAM_CA_FILE", "", "PEM file of the CA certificates trusted for the upstream (empty: the system's bundle)", "Upstream"),
        .init("UPSTREAM_STREAMS_PER_CONNECTION", "1", "Requests that may share one HTTP/2 upstream connection (1: an HTTP/1.1 connection each)", "Upstream"),
        // Models
        .init("MODEL_MAP", "claude-*haiku*=gpt-oss-120b,*=zai-glm-4.7", "Ordered glob rules: requested id → Cerebras model", "Models"),
        .init("MODEL_ALIASES", ModelCatalog.defaultAliases.joined(separator: ","), "Model ids listed by GET /v1/models", "Models"),
        .init("MODEL_PROFILES", "", "Per-model overrides: name:context=N,max_output=N,vision=bool,reasoning=effort|disable|none;…", "Models"),
        .init("MAX_OUTPUT_TOKENS", "", "Gateway-wide cap on max_completion_tokens (saves per-minute token quota)", "Models"),
        .init("PROMPT_TUNING", "true", "Prefix the behavioural guideline and scale temperature ×0.85 for code tasks", "Models"),
        .init("TOOL_MEMO_ENTRIES", "16", "Distinct tool lists each worker keeps parsed and translated for reuse (0: off)", "Models"),
        .init("SYSTEM_MEMO_ENTRIES", "16", "Distinct system prompts of 1 KiB or more each worker keeps parsed and translated for reuse (0: off)", "Models"),
        .init("CONVERSATION_MEMO_MB", "32", "MB of recent conversations each worker keeps translated, so a later turn only translates what is new (0: off)", "Models"),
        .init("UNSUPPORTED_MEDIA_PLACEHOLDER", "", "Text replacing images/PDFs for text-only models (empty: answer 400)", "Models"),
        // Auth
        .init("GATEWAY_API_KEYS", "", "Comma-separated keys clients may use (kept only as SHA-256 digests)", "Auth"),
        .init("GATEWAY_KEYS_FILE", "", "File of SHA-256 key digests, one per line, optional rpm=N tpm=N models=GLOB|GLOB", "Auth"),
        .init("PASSTHROUGH_KEYS", "false", "Forward client keys shaped like Cerebras keys (csk-…) upstream", "Auth"),
        .init("ALLOW_UNAUTHENTICATED", "false", "Serve without any key configured (explicit opt-in)", "Auth"),
        // Server
        .init("HOST", "0.0.0.0", "Address the API listens on", "Server"),
        .init("PORT", "8080", "API port (0 picks a free one)", "Server"),
        .init("WORKERS", "", "Worker processes (default: the CPUs this process may use)", "Server"),
        .init("ADMIN_HOST", "127.0.0.1", "Address of the admin listener (/health, /metrics)", "Server"),
        .init("ADMIN_PORT", "9090", "Admin port (0 picks a free one, -1 disables)", "Server"),
        .init("MAX_BODY_BYTES", "33554432", "Largest request body (413 above)", "Server"),
        .init("MAX_HEADER_BYTES", "65536", "Largest request head (431 above)", "Server"),
        .init("MAX_CONCURRENT_UPSTREAM", "512", "Upstream requests in flight per worker (529 above)", "Server"),
        .init("IDLE_TIMEOUT_SECONDS", "75", "Idle keep-alive connections are closed after this", "Server"),
        .init("REQUEST_TIMEOUT_SECONDS", "30", "A request must arrive completely within this", "Server"),
        .init("PING_INTERVAL_SECONDS", "10", "SSE ping while nothing else is sent", "Server"),
        .init("DRAIN_TIMEOUT_SECONDS", "30", "How long stop/reload waits for in-flight requests", "Server"),
        .init("IDLE_MEMORY_RELEASE_SECONDS", "10", "A worker that served upstream requests gives the heap memory it freed back to the system once none has started or been in flight for this long (0: never)", "Server"),
        .init("HEARTBEAT_TIMEOUT_SECONDS", "10", "A worker silent this long is killed and replaced", "Server"),
        .init("LOG_LEVEL", "info", "trace, debug, info, notice, warning, error, critical", "Server"),
        .init("LOG_FILE", "", "Append logs to this file instead of stderr (SIGUSR1 reopens it)", "Server"),
        // Redis and control plane
        .init("REDIS_URL", "", "redis://[:password@]host:port[/db] or unix://[:password@]/path/redis.sock[?db=N]; empty: embedded single-node mode", "Redis"),
        .init("REDIS_TIMEOUT_MS", "50", "Bound on every Redis call", "Redis"),
        .init("INSTANCE_ID", "", "Name of this replica in fleet metrics (default: hostname-port)", "Redis"),
        .init("RATE_LIMIT_ENABLED", "false", "Per-key limits", "Rate limits"),
        .init("RATE_LIMIT_RPM", "60", "Requests per minute per key (0: unlimited)", "Rate limits"),
        .init("RATE_LIMIT_TPM", "1000000", "Tokens per minute per key (0: unlimited)", "Rate limits"),
        .init("RATE_LIMIT_LEASE", "64", "A busy key's requests a worker takes ahead (0: each asks Redis or the master)", "Rate limits"),
        .init("RATE_LIMIT_FAIL_OPEN", "true", "Admit requests when Redis is unreachable (false: 529)", "Rate limits"),
        .init("CACHE_ENABLED", "false", "Cache deterministic answers (temperature ≤ 0.1)", "Cache"),
        .init("CACHE_TTL_SECONDS", "3600", "Cached answer lifetime", "Cache"),
        .init("CACHE_MAX_BYTES", "67108864", "In-memory cache size per worker (no Redis)", "Cache"),
        .init("CACHE_MAX_ENTRY_BYTES", "1048576", "Largest cacheable answer", "Cache"),
        .init("ENV_FILE", ".env", "Configuration file read at start and on SIGHUP", "Server"),
    ]

    init(_ name: String, _ defaultValue: String, _ summary: String, _ group: String) {
        self.name = name
        self.defaultValue = defaultValue
        self.summary = summary
        self.group = group
    }

    public static var names: Set<String> { Set(all.map(\.name)) }
}
