import CHiredis

/// hiredis's RESP parser, fed the bytes as they arrive: the gateway does the socket I/O on its event loops and
/// uses hiredis for what it is best at, turning a byte stream into complete replies.
///
/// Not `Sendable`: one connection's reader, used on that connection's event loop only.
final class RedisReplyReader {
    private let reader: UnsafeMutablePointer<redisReader>

    init() {
        guard let reader = redisReaderCreate() else { fatalError("hiredis could not allocate a reply reader") }
        self.reader = reader
    }

    deinit {
        redisReaderFree(reader)
    }

    /// Appends received bytes; false when hiredis is out of memory.
    func feed(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return true }
        return redisReaderFeed(reader, base.assumingMemoryBound(to: CChar.self), bytes.count) == REDIS_OK
    }

    /// The next complete reply, nil when more bytes are needed, or the protocol error that ends the connection.
    func next() -> Result<RedisReply?, RedisError> {
        var raw: UnsafeMutableRawPointer?
        guard redisReaderGetReply(reader, &raw) == REDIS_OK else {
            let message = withUnsafeBytes(of: reader.pointee.errstr) { bytes in
                String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
            return .failure(.unavailable("protocol error: \(message)"))
        }
        guard let raw else { return .success(nil) }
        defer { freeReplyObject(raw) }
        return .success(RedisReply(copying: raw.assumingMemoryBound(to: redisReply.self)))
    }
}
