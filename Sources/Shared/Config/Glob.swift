/// Case-insensitive glob matching with `*` (any run) and `?` (one character), as used by the model map.
public struct Glob: Sendable, Equatable, CustomStringConvertible {
    public let pattern: String
    private let pieces: [UInt8]

    public init(_ pattern: String) {
        self.pattern = pattern
        pieces = Array(pattern.lowercased().utf8)
    }

    public var description: String { pattern }

    public func matches(_ text: String) -> Bool {
        let subject = Array(text.lowercased().utf8)
        // Iterative matcher with single-star backtracking: linear in practice, no recursion.
        var p = 0, s = 0
        var starP = -1, starS = 0
        while s < subject.count {
            if p < pieces.count, pieces[p] == UInt8(ascii: "?") || pieces[p] == subject[s] {
                p += 1
                s += 1
            } else if p < pieces.count, pieces[p] == UInt8(ascii: "*") {
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
