import Foundation
import NIOHTTP1

/// Surfaces the upstream's `x-ratelimit-*` figures as Anthropic's `anthropic-ratelimit-*` headers where the
/// meaning matches: Cerebras's per-minute token budget. (Its request budget is per day; Anthropic's request
/// headers are per minute, so those are not translated.)
enum UpstreamHeaderMapping {
    static func rateLimitHeaders(from upstream: [(name: String, value: String)], now: Date = Date()) -> HTTPHeaders {
        func value(_ name: String) -> String? { upstream.first { $0.name == name }?.value }
        var headers = HTTPHeaders()
        if let limit = value("x-ratelimit-limit-tokens-minute") {
            headers.add(name: "anthropic-ratelimit-tokens-limit", value: limit)
        }
        if let remaining = value("x-ratelimit-remaining-tokens-minute") {
            headers.add(name: "anthropic-ratelimit-tokens-remaining", value: remaining)
        }
        if let reset = value("x-ratelimit-reset-tokens-minute").flatMap(Double.init) {
            headers.add(name: "anthropic-ratelimit-tokens-reset", value: RFC3339.format(now.addingTimeInterval(reset)))
        }
        return headers
    }
}

/// RFC 3339 timestamps in UTC with second precision, as Anthropic's reset headers use.
enum RFC3339 {
    static func format(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.up))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(pad(parts.tm_mon + 1))-\(pad(parts.tm_mday))T"
            + "\(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec))Z"
    }
}
