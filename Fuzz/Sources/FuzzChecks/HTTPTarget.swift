import NIOCore
import Shared

/// The client requests' parser (`RequestParser`): every byte a client sends a worker goes through it.
///
/// Invariants: nothing traps; the same requests and the same error (or none) whether the bytes arrive whole, a
/// byte at a time (inputs up to 4 KiB) or at fuzzer-chosen cuts, a body's pieces joined (they follow the reads);
/// each request's parts come in order (head, body pieces, end); a body framed by `Content-Length` holds exactly
/// that many bytes; a head names a method NIO knows and a target starting with `/` or `*`; after an error the
/// parser throws it again and gives nothing more.
public func fuzzHTTP(_ input: [UInt8]) {
    let (body, lengths) = Splits.separate(input)
    let whole = HTTPReading(body, chunks: [body[...]])
    let cut = HTTPReading(body, chunks: Splits.chunks(
        body, ends: Splits.boundaries(count: body.count, lengths: lengths, seedFrom: body)))
    check(cut == whole, "requests depend on the cuts\nwhole: \(shown(whole))\ncut:   \(shown(cut))")
    if body.count <= 4096 {
        let bytewise = HTTPReading(body, chunks: body.indices.map { body[$0...$0] })
        check(bytewise == whole,
              "requests depend on the cuts\nwhole:     \(shown(whole))\nbytewise: \(shown(bytewise))")
    }
}

/// What the parser made of some bytes fed in the given pieces: the requests read whole (with their bodies), the
/// one under way, and the error that stopped it.
struct HTTPReading: Equatable, CustomStringConvertible {
    var requests: [(head: ClientRequestHead, body: [UInt8])] = []
    var pending: (head: ClientRequestHead, body: [UInt8])?
    var error: RequestParseError?

    /// A small limit, so that inputs reach it.
    static let maxHeadBytes = 1024

    init(_ input: [UInt8], chunks: [ArraySlice<UInt8>]) {
        var parser = RequestParser(maxHeadBytes: Self.maxHeadBytes)
        for chunk in chunks {
            parser.append(ByteBuffer(bytes: chunk))
            do {
                while let part = try parser.next() { take(part) }
            } catch {
                self.error = error
                // Failed for good: the same error again, nothing more.
                parser.append(ByteBuffer(bytes: input.prefix(64)))
                do {
                    let after = try parser.next()
                    invariantFailed("a parse after \(error) gave \(shown(after))")
                } catch {
                    check(error == self.error, "a parse after \(shown(self.error)) threw \(error)")
                }
                return
            }
        }
    }

    private mutating func take(_ part: RequestParser.Part) {
        switch part {
        case .head(let head):
            check(pending == nil, "a head before the last request's end: \(shown(head))")
            check(!head.uri.isEmpty && (head.uri.hasPrefix("/") || head.uri == "*"), "target \(shown(head.uri))")
            if case .RAW = head.method { invariantFailed("a method NIO does not name: \(shown(head.method))") }
            check(!(head.isChunked && head.contentLength != nil), "two framings: \(shown(head))")
            pending = (head, [])
        case .body(let piece):
            guard pending != nil else { invariantFailed("a body piece outside a request") }
            check(piece.readableBytes > 0, "an empty body piece")
            pending!.body += piece.readableBytesView
        case .end:
            guard let request = pending else { invariantFailed("an end outside a request") }
            if let length = request.head.contentLength {
                check(request.body.count == length, "\(request.body.count) body bytes for content-length \(length)")
            }
            requests.append(request)
            pending = nil
        }
    }

    static func == (left: HTTPReading, right: HTTPReading) -> Bool {
        left.error == right.error && left.requests.count == right.requests.count
            && zip(left.requests, right.requests).allSatisfy { $0.head == $1.head && $0.body == $1.body }
            && left.pending?.head == right.pending?.head && left.pending?.body == right.pending?.body
    }

    var description: String {
        let read = requests.map { "\($0.head.method) \($0.head.uri) (\($0.body.count) body bytes)" }
        return "\(read), pending \(pending.map { "\($0.head.uri) (\($0.body.count))" } ?? "none"), "
            + "error \(error.map { "\($0)" } ?? "none")"
    }
}
