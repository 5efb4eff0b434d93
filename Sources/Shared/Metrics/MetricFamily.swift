/// The metric families the gateway exports: names, types and help text in one place.
public struct MetricFamily: Sendable {
    public enum Kind: String, Sendable { case counter, gauge, histogram }

    public let name: String
    public let kind: Kind
    public let help: String

    public static let prefix = "cerebras_gateway_"

    public static let requests = MetricFamily("requests_total", .counter,
        "Requests answered, by route, status class, backend model and stream")
    public static let requestDuration = MetricFamily("request_duration_seconds", .histogram,
        "Time from request received to response complete, by route and stream")
    public static let timeToFirstToken = MetricFamily("time_to_first_token_seconds", .histogram,
        "Time from a streaming request received to the first upstream content, by backend model")
    public static let tokens = MetricFamily("tokens_total", .counter,
        "Tokens reported by the upstream, by direction (input, output, cache_read) and backend model")
    public static let upstreamErrors = MetricFamily("upstream_errors_total", .counter,
        "Upstream failures by kind (connect, timeout, status_429, status_4xx, status_5xx, midstream, malformed)")
    public static let upstreamRetries = MetricFamily("upstream_retries_total", .counter,
        "Upstream attempts retried before the first byte")
    public static let activeStreams = MetricFamily("active_streams", .gauge, "Streaming responses in progress")
    public static let activeUpstream = MetricFamily("active_upstream_requests", .gauge, "Upstream requests in flight")
    public static let rateLimited = MetricFamily("rate_limited_total", .counter, "Requests refused by the gateway's rate limits")
    public static let rateLimitLeased = MetricFamily("rate_limit_leased_total", .counter,
        "Requests admitted from a worker's rate-limit lease, without a round trip to Redis or the master")
    public static let cacheRequests = MetricFamily("cache_requests_total", .counter,
        "Cache lookups by result (hit, miss, bypass, error)")
    public static let toolMemoLookups = MetricFamily("tool_memo_lookups_total", .counter,
        "Requests with tools, by whether the worker already had their tool list parsed and translated (known, new)")
    public static let systemMemoLookups = MetricFamily("system_memo_lookups_total", .counter,
        "Requests with a system prompt of 1 KiB or more, by whether the worker already had it parsed and translated (known, new)")
    public static let conversationMemoLookups = MetricFamily("conversation_memo_lookups_total", .counter,
        "Requests with long conversations, by whether the worker already had the start of theirs translated (known, new)")
    public static let redisErrors = MetricFamily("redis_errors_total", .counter, "Failed Redis calls")
    public static let shed = MetricFamily("shed_total", .counter, "Requests refused with 529 because a worker was at capacity")
    public static let clientWriteStalls = MetricFamily("client_write_stalls_total", .counter,
        "Times a client's socket could not take a response's bytes at once, so they waited in the worker until it read")
    public static let workers = MetricFamily("workers", .gauge, "Worker processes by state")
    public static let workerRestarts = MetricFamily("worker_restarts_total", .counter,
        "Workers replaced after exiting or hanging")
    public static let reloads = MetricFamily("reloads_total", .counter, "Configuration reloads by result")
    public static let generation = MetricFamily("generation", .gauge, "Current worker generation (increments per reload)")
    public static let uptime = MetricFamily("uptime_seconds", .gauge, "Seconds since the master started")
    public static let buildInfo = MetricFamily("build_info", .gauge, "Build information (value 1)")
    public static let redisUp = MetricFamily("redis_up", .gauge, "1 when Redis is reachable (absent when not configured)")
    public static let fleetInstances = MetricFamily("fleet_instances", .gauge,
        "Replicas that published their totals to Redis recently")

    public static let all: [MetricFamily] = [
        requests, requestDuration, timeToFirstToken, tokens, upstreamErrors, upstreamRetries, activeStreams,
        activeUpstream, rateLimited, rateLimitLeased, cacheRequests, toolMemoLookups, systemMemoLookups, conversationMemoLookups,
        redisErrors, shed, clientWriteStalls, workers, workerRestarts, reloads, generation, uptime, buildInfo, redisUp,
        fleetInstances,
    ]

    public static let durationBuckets: [Double] = [
        0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
    ]

    init(_ name: String, _ kind: Kind, _ help: String) {
        self.name = MetricFamily.prefix + name
        self.kind = kind
        self.help = help
    }
}
