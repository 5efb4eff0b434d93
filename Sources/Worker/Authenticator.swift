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

    /// The caller, or nil for a 401. With a connection's `memo`, a request presenting the key that connection's last
    /// request was let in with is answered from it, without the key's digest.
    func authenticate(apiKey: String?, authorization: String?, memo: AuthenticationMemo? = nil) -> Caller? {
        let (first, second) = Self.presentedKeys(apiKey: apiKey, authorization: authorization)
        if let first {
            if let caller = memo?.caller(presenting: first) { return caller }
            if let caller = caller(presenting: first) {
                memo?.remember(first, as: caller)
                return caller
            }
            if let second, second != first, let caller = caller(presenting: second) { return caller }
        }
        if allowUnauthenticated { return Caller(kind: .anonymous, tenant: "anonymous") }
        return nil
    }

    /// The caller a key makes, or nil when it is neither a gateway key nor (when allowed) a Cerebras key.
    private func caller(presenting key: String) -> Caller? {
        let digest = SHA256Digest.digest(utf8Of: key)
        if let index = match(digest) {
            let gatewayKey = keys[index]
            return Caller(kind: .gatewayKey, tenant: tenants[index],
                          requestsPerMinute: gatewayKey.requestsPerMinute, tokensPerMinute: gatewayKey.tokensPerMinute,
                          allowedModels: gatewayKey.allowedModels)
        }
        if passthrough, key.hasPrefix("csk-") {
            return Caller(kind: .passthrough(upstreamKey: key), tenant: SHA256Digest.hexString(digest))
        }
        return nil
    }

    /// The non-empty keys a request presents (its first `x-api-key` and `Authorization` fields), in the order they
    /// are tried: `x-api-key`, then the token of `Authorization: Bearer`.
    private static func presentedKeys(apiKey: String?, authorization: String?) -> (first: String?, second: String?) {
        var apiKey = apiKey
        if apiKey?.isEmpty == true { apiKey = nil }
        var bearer: String?
        if let authorization {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                let token = parts[1].trimmed(" ")
                if !token.isEmpty { bearer = token }
            }
        }
        return apiKey == nil ? (bearer, nil) : (apiKey, bearer)
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

/// A connection's last authentication: the key its last request was let in with, and the caller that made it.
///
/// Every request of a kept-alive connection presents its key again, and the key's SHA-256 digest was about 1 % of
/// a small request's instructions. A request presenting the same key is the same caller (the keys and their limits
/// are fixed for a worker's life: a change of them is a reload, which starts new workers). The presented key is
/// compared with the remembered one in time independent of their contents; the memo is the connection's own, so
/// it only ever holds a key that connection sent, and a key that was let in. Used on the connection's loop only.
final class AuthenticationMemo {
    private var key: [UInt8] = []
    private var caller: Caller?

    func caller(presenting presented: String) -> Caller? {
        guard let caller else { return nil }
        let same = presented.withBorrowedUTF8 { bytes in
            key.withUnsafeBytes { SHA256Digest.constantTimeEquals(UnsafeRawBufferPointer(bytes), $0) }
        }
        return same ? caller : nil
    }

    func remember(_ presented: String, as caller: Caller) {
        key = Array(presented.utf8)
        self.caller = caller
    }
}
