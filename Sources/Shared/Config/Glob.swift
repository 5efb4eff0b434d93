/// Case-insensitive glob matching with `*` (any run) and `?` (one character), as used by the model map.
public struct Glob: Sendable, Equatable, CustomStringConvertible {
    public let pattern: String
    private let pieces: [UInt8]
    /// Where the stars the pattern ends with begin (nil when it does not end with one): once the pieces before them
    /// have matched, whatever the name has left matches, and is not read. The catch-all rule the model map ends with,
    /// `*`, then matches without a look at the name.
    private let trailingStars: Int?

    public init(_ pattern: String) {
        self.pattern = pattern
        let pieces = Array(pattern.lowercased().utf8)
        self.pieces = pieces
        let star = UInt8(ascii: "*")
        trailingStars = pieces.last == star ? (pieces.lastIndex { $0 != star }).map { $0 + 1 } ?? 0 : nil
    }

    public var description: String { pattern }

    /// Case-insensitive. Every request's model name is matched against the rules in turn, so an ASCII name (all
    /// of them in practice) is lowercased byte by byte as it is read, without a lowercased copy per rule.
    public func matches(_ text: String) -> Bool {
        if trailingStars == 0 { return true }
        let asciiResult = text.withBorrowedUTF8 { bytes -> Bool? in
            bytes.allSatisfy { $0 < 0x80 } ? matches(subject: bytes) { $0.asciiLowercased } : nil
        }
        if let asciiResult { return asciiResult }
        let lowercased = Array(text.lowercased().utf8)
        return lowercased.withUnsafeBufferPointer { matches(subject: $0) { $0 } }
    }

    private func matches(subject: UnsafeBufferPointer<UInt8>, folding fold: (UInt8) -> UInt8) -> Bool {
        // Iterative matcher with single-star backtracking: linear in practice, no recursion.
        var p = 0, s = 0
        var starP = -1, starS = 0
        while s < subject.count {
            if p < pieces.count, pieces[p] == UInt8(ascii: "?") || pieces[p] == fold(subject[s]) {
                p += 1
                s += 1
            } else if p < pieces.count, pieces[p] == UInt8(ascii: "*") {
                if let trailingStars, p >= trailingStars { return true }
                starP = p
                starS = s
                p += 1
            } else if starP >= 0 {
                p = starP + 1
                starS += 1
                s = starS
            } else {
                return false
            }
        }
        while p < pieces.count, pieces[p] == UInt8(ascii: "*") { p += 1 }
        return p == pieces.count
    }
}
