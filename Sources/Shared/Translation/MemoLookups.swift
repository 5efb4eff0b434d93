import NIOConcurrencyHelpers

/// How often a memo was asked, by whether it knew the answer.
public struct MemoLookups: Sendable, Equatable {
    public var known = 0
    public var new = 0

    public init(known: Int = 0, new: Int = 0) {
        self.known = known
        self.new = new
    }
}

/// `MemoLookups` counted from any event loop.
final class MemoLookupCounter: Sendable {
    private let counts = NIOLockedValueBox(MemoLookups())

    var current: MemoLookups { counts.withLockedValue { $0 } }

    func count(known: Bool) {
        counts.withLockedValue { known ? ($0.known += 1) : ($0.new += 1) }
    }
}
