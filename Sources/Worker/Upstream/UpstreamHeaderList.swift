import CCurl

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The header fields curl sends with every upstream request, as the `curl_slist` that `CURLOPT_HTTPHEADER` takes.
///
/// The fixed fields are one list, built once per client and shared by all its transfers (with an empty `Expect:` in
/// front of it for large bodies, `fixedForLargeBodies`). A transfer puts a single node in front of the list its body
/// takes, for its key's `Authorization` field: one allocation holding the node and its text, freed with `free` once the
/// transfer is detached. curl only reads the list (it must stay valid until the transfer is removed), so sharing the
/// tail is safe. Building the whole list per transfer cost five `curl_slist_append` calls, each copying a string that
/// Swift had first converted to a C array.
final class UpstreamHeaderList: @unchecked Sendable {
    /// The body size above which libcurl announces a body with `Expect: 100-continue` and waits up to a second for
    /// the server's `100 Continue` before sending it: 1 MiB in libcurl 7.88 (`UpstreamExpectTests` holds the
    /// library the gateway runs with to it).
    static let expectThreshold = 1 << 20

    /// Owned; freed in `deinit`. Touched only on the owning client's loop.
    let fixed: UnsafeMutablePointer<curl_slist>
    /// An empty `Expect:` in front of `fixed` (sharing it), for bodies over `expectThreshold`: it stops curl from
    /// announcing the body and waiting. Not in every request's list: curl compares each field of the list with
    /// names of its own for every request, and a kept-alive request takes 0.997× the instructions without it
    /// (BENCHMARKS.md, "Fifty-second round").
    let fixedForLargeBodies: UnsafeMutablePointer<curl_slist>

    init() {
        var list: UnsafeMutablePointer<curl_slist>?
        // No `Accept`: in OpenAI's API the answer's type follows the body's `stream`, curl then sends `Accept: */*`,
        // and libcurl 7.88 formats every field a character at a time, about a hundred instructions a byte
        // (BENCHMARKS.md, "Forty-seventh round": 1.7 % of a kept-alive request's instructions for this field).
        for field in ["Content-Type: application/json", "User-Agent: cerebras-gateway"] {
            guard let appended = cg_slist_append(list, field) else { fatalError("curl_slist_append: out of memory") }
            list = appended
        }
        guard let list, let expect = cg_slist_append(nil, "Expect:") else {
            fatalError("curl_slist_append: out of memory")
        }
        expect.pointee.next = list
        fixed = list
        fixedForLargeBodies = expect
    }

    deinit {
        fixedForLargeBodies.pointee.next = nil
        cg_slist_free_all(fixedForLargeBodies)
        cg_slist_free_all(fixed)
    }

    /// `Authorization: Bearer <key>` followed by the fixed fields for a body of `bodyBytes`; nil when out of memory.
    /// Free it with `releaseAuthorization`, never with `curl_slist_free_all` (the tail is shared).
    func withAuthorization(key: String, bodyBytes: Int) -> UnsafeMutablePointer<curl_slist>? {
        let tail = bodyBytes > Self.expectThreshold ? fixedForLargeBodies : fixed
        let prefix: StaticString = "Authorization: Bearer "
        return key.withBorrowedUTF8 { keyBytes -> UnsafeMutablePointer<curl_slist>? in
            let nodeSize = MemoryLayout<curl_slist>.stride
            let textLength = prefix.utf8CodeUnitCount + keyBytes.count
            guard let block = malloc(nodeSize + textLength + 1) else { return nil }
            let text = (block + nodeSize).bindMemory(to: CChar.self, capacity: textLength + 1)
            let textBytes = UnsafeMutableRawPointer(text)
            textBytes.copyMemory(from: prefix.utf8Start, byteCount: prefix.utf8CodeUnitCount)
            if let keyStart = keyBytes.baseAddress {
                (textBytes + prefix.utf8CodeUnitCount).copyMemory(from: keyStart, byteCount: keyBytes.count)
            }
            text[textLength] = 0
            let node = block.bindMemory(to: curl_slist.self, capacity: 1)
            node.initialize(to: curl_slist(data: text, next: tail))
            return node
        }
    }

    /// Frees a list made by `withAuthorization` (its own node only).
    static func releaseAuthorization(_ node: UnsafeMutablePointer<curl_slist>) {
        free(node)
    }
}
