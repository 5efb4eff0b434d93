import CCurl

/// libcurl is opened at run time, by the processes that call the upstream: workers (and tests). The master runs the
/// same binary and never does, so it does not map libcurl and the libraries libcurl pulls in (see CCurl.h).
enum Libcurl {
    /// Opens libcurl (`library`, else libcurl.so.4) and resolves its functions; only the first call per process does
    /// the work, later ones report its outcome.
    static func load(library: String? = nil) throws(LibcurlUnavailable) {
        if let reason = cg_curl_load(library ?? CG_LIBCURL_SONAME) {
            throw LibcurlUnavailable(reason: String(cString: reason))
        }
    }
}

/// libcurl could not be opened (not installed, or not the expected version): a worker cannot serve without it.
struct LibcurlUnavailable: Error, CustomStringConvertible {
    let reason: String
    var description: String { "\(reason) (install libcurl4, the OpenSSL build of libcurl)" }
}
