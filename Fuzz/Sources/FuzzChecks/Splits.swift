/// Ways of cutting one input into the chunks a network delivers, so that a parser fed whole and fed in pieces
/// can be compared.
public enum Splits {
    /// The marker after which the rest of an input, when present, chooses chunk lengths explicitly (one byte
    /// per chunk, length `byte + 1`, cycling). It is in the dictionaries, so the fuzzer can add it; inputs
    /// without it are cut at lengths drawn from a generator seeded by the input's hash.
    public static let marker: [UInt8] = Array("\u{0}\u{0}SPLITS:".utf8)

    /// The payload and the explicit chunk-length bytes (empty when the input has no marker).
    public static func separate(_ input: [UInt8]) -> (body: [UInt8], lengths: [UInt8]) {
        guard input.count >= marker.count else { return (input, []) }
        var index = input.count - marker.count
        while index >= 0 {
            if input[index] == 0, input[index..<(index + marker.count)].elementsEqual(marker) {
                return (Array(input[..<index]), Array(input[(index + marker.count)...]))
            }
            index -= 1
        }
        return (input, [])
    }

    /// Chunk boundaries (end offsets, the last is `count`) for a body of `count` bytes.
    ///
    /// `minimumChunk` keeps the number of feeds bounded for large bodies: the SSE parser and the control line
    /// buffer rescan a pending line on every feed, so tiny chunks of a long line cost time quadratic in its
    /// length (a known finding, see Fuzz/README.md), which would otherwise make the fuzzer report timeouts
    /// instead of exploring. `FUZZ_QUADRATIC=1` lifts the floor.
    public static func boundaries(count: Int, lengths: [UInt8], seedFrom body: [UInt8]) -> [Int] {
        let minimumChunk = allowQuadratic ? 1 : max(1, count / 1024)
        var ends: [Int] = []
        var offset = 0
        if !lengths.isEmpty {
            var next = 0
            while offset < count {
                offset = min(count, offset + max(minimumChunk, Int(lengths[next % lengths.count]) + 1))
                ends.append(offset)
                next += 1
            }
        } else {
            var random = SplitMix64(seed: fnv1a(body))
            while offset < count {
                // Mostly small cuts (UTF-8 sequences, CR|LF, "da|ta:"), sometimes a large one.
                let step = random.next() % 8 == 0 ? Int(random.next() % 4096) + 1 : Int(random.next() % 24) + 1
                offset = min(count, offset + max(minimumChunk, step))
                ends.append(offset)
            }
        }
        if ends.isEmpty { ends.append(count) }
        return ends
    }

    public static let allowQuadratic = fuzzFlag("QUADRATIC")

    /// Line ends (after every LF), as the golden tests feed "by line".
    public static func lineBoundaries(_ body: [UInt8]) -> [Int] {
        var ends: [Int] = []
        for (index, byte) in body.enumerated() where byte == 0x0A { ends.append(index + 1) }
        if ends.last != body.count { ends.append(body.count) }
        return ends
    }

    public static func chunks(_ body: [UInt8], ends: [Int]) -> [ArraySlice<UInt8>] {
        var start = 0
        var pieces: [ArraySlice<UInt8>] = []
        for end in ends {
            pieces.append(body[start..<end])
            start = end
        }
        return pieces
    }

    static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}

/// A tiny deterministic generator (the same as the tests' SplitMix64).
public struct SplitMix64 {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
