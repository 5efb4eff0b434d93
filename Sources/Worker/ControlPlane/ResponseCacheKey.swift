import Shared

/// Which answers may be cached, and under which key.
enum ResponseCacheKey {
    /// The seed's rule: only (near-)deterministic requests.
    static let maxTemperature = 0.1

    static func isCacheable(_ request: Anthropic.MessagesRequest) -> Bool {
        guard let temperature = request.temperature else { return false }
        return temperature <= maxTemperature
    }

    /// SHA-256 over the tenant's key digest and the upstream request less its last `streamDependentSuffix` bytes
    /// (`OpenAI.ChatRequest.streamDependentSuffixCount`: whether the answer is streamed): a cached answer never
    /// crosses keys and serves a streaming and a non-streaming client alike, and any other difference in what would
    /// be asked upstream is a different entry.
    static func key(tenant: String, upstreamBody: UpstreamBody, streamDependentSuffix: Int) -> String {
        let asked = UnsafeRawBufferPointer(rebasing: upstreamBody.bytes.dropLast(streamDependentSuffix))
        let digest = tenant.withBorrowedUTF8 { tenant in
            SHA256Digest.digest(parts: [UnsafeRawBufferPointer(tenant), UnsafeRawBufferPointer(literal: "\n"), asked])
        }
        return SHA256Digest.hexString(digest)
    }
}
