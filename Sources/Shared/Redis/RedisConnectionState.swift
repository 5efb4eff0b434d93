/// The client's connection as `/health` reports it.
public enum RedisConnectionState: String, Sendable, Equatable {
    /// Commands are being sent.
    case connected
    /// The first connection attempt is in progress; commands queue until it succeeds or fails.
    case connecting
    /// Not connected (outage or shut down); commands fail at once while reconnects run in the background.
    case down
}
