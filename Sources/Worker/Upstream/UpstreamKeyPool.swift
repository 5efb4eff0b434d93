import NIOConcurrencyHelpers

/// The gateway's Cerebras keys: round-robin, skipping keys cooling down after a 429.
final class UpstreamKeyPool: Sendable {
    private struct State {
        var next = 0
        var coolingUntil: [Double]
    }

    private let keys: [String]
    private let state: NIOLockedValueBox<State>

    init(keys: [String]) {
        self.keys = keys
        state = NIOLockedValueBox(State(coolingUntil: Array(repeating: 0, count: keys.count)))
    }

    /// The next usable key, or (when every key cools down) the one that recovers first.
    /// - Parameter avoiding: a key to skip when another is usable (the one that just failed).
    func next(now: Double, avoiding: String? = nil) -> String? {
        guard !keys.isEmpty else { return nil }
        return state.withLockedValue { state in
            for offset in 0..<keys.count {
                let index = (state.next + offset) % keys.count
                guard state.coolingUntil[index] <= now, keys[index] != avoiding || keys.count == 1 else { continue }
                state.next = (index + 1) % keys.count
                return keys[index]
            }
            let soonest = state.coolingUntil.indices.min { state.coolingUntil[$0] < state.coolingUntil[$1] } ?? 0
            return keys[soonest]
        }
    }

    /// A key got 429: rest it for the time the upstream asked (or a default minute).
    func coolDown(_ key: String, seconds: Double?, now: Double) {
        guard let index = keys.firstIndex(of: key) else { return }
        state.withLockedValue { $0.coolingUntil[index] = now + (seconds ?? 60) }
    }
}
