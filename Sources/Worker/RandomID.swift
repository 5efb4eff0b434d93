import NIOConcurrencyHelpers

/// Random identifiers for requests, messages and tool calls (`req_…`, `msg_…`, `toolu_…`).
///
/// Ids must be unique and unguessable enough not to collide across a fleet, not secret: they come from a
/// xoshiro256** generator seeded once per process from the kernel, so an id costs no system call (the
/// standard library's generator and glibc's `arc4random` make a `getrandom` call for every draw).
enum RandomID {
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
    private static let generator = NIOLockedValueBox(Xoshiro256StarStar(seededBy: SystemRandomNumberGenerator()))

    /// 24 base-62 characters carry 142 bits. Each 64-bit draw yields 10 characters (62^10 < 2^64; the digits of
    /// a 64-bit fraction are as near uniform as a remainder's, which is irrelevant for identifiers anyway).
    static func make(prefix: String, length: Int = 24) -> String {
        // Written straight into the string's storage: one allocation per id (the id outgrows inline storage).
        String(unsafeUninitializedCapacity: prefix.utf8.count + length) { bytes in
            var index = 0
            for byte in prefix.utf8 {
                bytes[index] = byte
                index += 1
            }
            var remaining = length
            // One lock for the whole id, not one per draw.
            generator.withLockedValue { generator in
                while remaining > 0 {
                    // The draw as a fraction of 2^64, written in base 62: each multiplication by 62 carries the next
                    // digit out into the high word (a 64-bit division, as `% 62` and `/ 62` take, costs some 40
                    // cycles a character).
                    var fraction = generator.next()
                    for _ in 0..<min(10, remaining) {
                        let (digit, rest) = fraction.multipliedFullWidth(by: 62)
                        bytes[index] = alphabet[Int(digit)]
                        fraction = rest
                        index += 1
                    }
                    remaining -= min(10, remaining)
                }
            }
            return index
        }
    }
}

/// xoshiro256** (Blackman and Vigna): fast, 256 bits of state, passes BigCrush. Not for secrets.
struct Xoshiro256StarStar: RandomNumberGenerator, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    init(seededBy seed: some RandomNumberGenerator) {
        var seed = seed
        repeat {
            state = (seed.next(), seed.next(), seed.next(), seed.next())
        } while state == (0, 0, 0, 0)
    }

    /// A given state (not all zero), for reproducible sequences.
    init(state: (UInt64, UInt64, UInt64, UInt64)) {
        precondition(state != (0, 0, 0, 0), "xoshiro's state must not be all zero")
        self.state = state
    }

    mutating func next() -> UInt64 {
        let result = rotateLeft(state.1 &* 5, 7) &* 9
        let shifted = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= shifted
        state.3 = rotateLeft(state.3, 45)
        return result
    }

    private func rotateLeft(_ value: UInt64, _ count: UInt64) -> UInt64 {
        (value << count) | (value >> (64 - count))
    }
}
