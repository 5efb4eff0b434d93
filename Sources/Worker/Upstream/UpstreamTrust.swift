import CCurl

/// Which CA certificates a worker's upstream connections trust, and how libcurl comes to keep them in memory.
///
/// libcurl (7.87 and later) parses the trusted certificates once per multi handle, and keeps them for a day
/// (`CURLOPT_CA_CACHE_TIMEOUT`), only when they come from one file and no directory is named. Debian's libcurl names
/// both (`/etc/ssl/certs/ca-certificates.crt` and `/etc/ssl/certs`), so it parsed the whole bundle, 139 certificates,
/// for every new upstream connection: about 20 ms of the event loop's CPU with OpenSSL 3, on a loop that opens a
/// connection for each concurrent request (BENCHMARKS.md, "Thirty-first round"). Each easy handle therefore names the
/// file alone: `UPSTREAM_CA_FILE`, or the bundle libcurl was built with. A libcurl built with a directory and no
/// bundle keeps its directory (no cache then, but nothing to parse up front either).
enum UpstreamTrust {
    /// Makes `easy` trust the certificates of `caFile` (nil: libcurl's built-in bundle), from that file alone.
    static func apply(to easy: UnsafeMutableRawPointer, caFile: String?) {
        if let caFile {
            _ = caFile.withCString { cg_easy_setopt_ptr(easy, CURLOPT_CAINFO, $0) }
        } else if !hasBuiltInBundle(easy) {
            return
        }
        _ = cg_easy_setopt_ptr(easy, CURLOPT_CAPATH, nil)
    }

    /// Whether libcurl was built with a CA bundle file (`CURLINFO_CAINFO`, libcurl 7.84 and later).
    private static func hasBuiltInBundle(_ easy: UnsafeMutableRawPointer) -> Bool {
        var path: UnsafeMutableRawPointer?
        return cg_easy_getinfo_ptr(easy, CURLINFO_CAINFO, &path) == CURLE_OK && path != nil
    }
}
