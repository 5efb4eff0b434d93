import NIOHTTP1
import Shared

/// Who is calling: decides the rate-limit bucket, the cache tenant and the upstream key.
struct Caller: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case gatewayKey
        /// A client's own Cerebras key, sent upstream as is (never stored).
        case passthrough(upstreamKey: String)
        case anonymous
    }

    var kind: Kind
    /// Hex SHA-256 of the presented key ("anonymous" without one): names the bucket and cache tenant.
    var tenant: String
    var requestsPerMinute: Int?
    var tokensPerMinute: Int?
    /// The key's model restrictions (keys-file `models=`); nil for any model.
    var allowedModels: [Glob]?

    /// Whether this caller may ask for `model` (403 `permission_error` otherwise).
    func allows(model: String) -> Bool {
        allowedModels?.contains { $0.matches(model) } ?? true
    }

    /// The first 8 hex digits, safe to log.
    var tenantPrefix: String { String(tenant.prefix(8)) }
}

/// Checks client keys from `x-api-key` or `Authorization: Bearer`, as SHA-256 digests in constant time.
struct Authenticator: Sendable {
    let keys: [GatewayKey]
    /// Each key's tenant (its digest in hex), made once rather than for every request.
    private let tenants: [String]
    let passthrough: Bool
    let allowUnauthenticated: Bool

    init(config: GatewayConfig) {
        keys = config.gatewayKeys
        tenants = keys.map { SHA256Digest.hexString($0.digest) }
        passthrough = config.passthroughKeys
        allowUnauthenticated = config.allowUnauthenticated
    }

    /// The caller, or nil for a 401.
    func authenticate(_ headers: HTTPHeaders) -> Caller? {
        var candidates: [String] = []
        if let key = headers.first(name: "x-api-key"), !key.isEmpty { candidates.append(key) }
        if let authorization = headers.first(name: "authorization") {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                let token = parts[1].trimmed(" ")
                if !token.isEmpty, !candidates.contains(token) { candidates.append(token) }
            }
        }
        for candidate in candidates {
            let digest = SHA256Digest.digest(utf8Of: candidate)
            if let index = match(digest) {
                let key = keys[index]
                return Caller(kind: .gatewayKey, tenant: tenants[index],
                              requestsPerMinute: key.requestsPerMinute, tokensPerMinute: key.tokensPerMinute,
                              allowedModels: key.allowedModels)
            }
            if passthrough, candidate.hasPrefix("csk-") {
                return Caller(kind: .passthrough(upstreamKey: candidate), tenant: SHA256Digest.hexString(digest))
            }
        }
        if allowUnauthenticated { return Caller(kind: .anonymous, tenant: "anonymous") }
        return nil
    }

    /// The index of the key with this digest. Compares against every configured digest without stopping early, so
    /// timing says nothing of which matched.
    private func match(_ digest: [UInt8]) -> Int? {
        var found: Int?
        for (index, key) in keys.enumerated()
        where SHA256Digest.constantTimeEquals(key.digest, digest) && found == nil {
            found = index
        }
        return found
    }
}
