import CHiredis

extension RedisReply {
    /// Copies a hiredis reply tree into Swift values; the caller still frees `reply`.
    init(copying reply: UnsafePointer<redisReply>) {
        let raw = reply.pointee
        switch raw.type {
        case REDIS_REPLY_STATUS:
            self = .status(Self.text(raw))
        case REDIS_REPLY_ERROR:
            self = .error(Self.text(raw))
        case REDIS_REPLY_INTEGER:
            self = .integer(Int(raw.integer))
        case REDIS_REPLY_STRING:
            self = .bulk(Self.bytes(raw))
        case REDIS_REPLY_NIL:
            self = .null
        case REDIS_REPLY_ARRAY:
            var elements = [RedisReply]()
            elements.reserveCapacity(raw.elements)
            if let element = raw.element {
                for index in 0..<raw.elements {
                    if let child = element[index] {
                        elements.append(RedisReply(copying: child))
                    } else {
                        elements.append(.null)
                    }
                }
            }
            self = .array(elements)
        default:
            // RESP2 has no other types; hiredis 0.14 cannot produce RESP3 ones.
            self = .error("unknown hiredis reply type \(raw.type)")
        }
    }

    private static func bytes(_ raw: redisReply) -> [UInt8] {
        guard let str = raw.str, raw.len > 0 else { return [] }
        return str.withMemoryRebound(to: UInt8.self, capacity: raw.len) {
            Array(UnsafeBufferPointer(start: $0, count: raw.len))
        }
    }

    private static func text(_ raw: redisReply) -> String {
        String(decoding: Self.bytes(raw), as: UTF8.self)
    }
}
