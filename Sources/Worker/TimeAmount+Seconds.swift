import NIOCore

extension TimeAmount {
    /// Configuration gives durations as fractional seconds.
    static func fromSeconds(_ seconds: Double) -> TimeAmount {
        .nanoseconds(Int64(seconds * 1e9))
    }
}
