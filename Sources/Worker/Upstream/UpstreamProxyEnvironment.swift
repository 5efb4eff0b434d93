#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Whether the worker's environment names an outbound proxy for the upstream, the way curl reads it: `https_proxy`
/// or `HTTPS_PROXY` (an `https://` upstream), `http_proxy` (an `http://` one; curl ignores `HTTP_PROXY`),
/// `all_proxy` or `ALL_PROXY`, with `no_proxy` / `NO_PROXY` listing hosts that bypass it.
///
/// Left to itself, curl reads those variables again before every transfer (five `getenv` calls, each a walk of the
/// environment: about 1,700 instructions of a request's 280,000). A process's environment does not change once the
/// worker runs, so it is read once here: when no proxy is named, each easy handle is told so (`CURLOPT_PROXY` set
/// to the empty string, curl's own "no proxy", and `CURLOPT_NOPROXY` too, without which curl still reads `no_proxy`
/// and `NO_PROXY` before every transfer: 1,600 instructions), and when one is, curl keeps reading the variables as
/// it always did, `no_proxy` included.
enum UpstreamProxyEnvironment {
    /// The variables whose presence leaves proxy detection to curl (`HTTP_PROXY` too: curl ignores it, and leaving
    /// curl alone is never wrong).
    static let names = ["https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]

    /// True when at least one of `names` is set to a non-empty value in this process's environment.
    static let namesAProxy: Bool = names.contains { name in
        guard let value = getenv(name) else { return false }
        return value.pointee != 0
    }
}
