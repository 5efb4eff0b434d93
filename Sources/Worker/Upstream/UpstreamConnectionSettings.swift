import Shared

/// How a worker's upstream clients open and use connections, from the configuration.
struct UpstreamConnectionSettings: Sendable {
    /// Transfers that may share one HTTP/2 connection (`UPSTREAM_STREAMS_PER_CONNECTION`); 1: none do, and each
    /// connection speaks HTTP/1.1 (see `UpstreamClient.sharesConnections`).
    var streamsPerConnection: Int
    /// The PEM file of the CA certificates trusted for the upstream (`UPSTREAM_CA_FILE`); nil: libcurl's built-in
    /// bundle (see `UpstreamTrust`).
    var caFile: String?

    init(streamsPerConnection: Int = 1, caFile: String? = nil) {
        self.streamsPerConnection = streamsPerConnection
        self.caFile = caFile
    }

    init(_ config: GatewayConfig) {
        self.init(streamsPerConnection: config.upstreamStreamsPerConnection, caFile: config.upstreamCAFile)
    }
}
