import Shared

/// How a worker's upstream clients open and use connections, from the configuration.
struct UpstreamConnectionSettings: Sendable {
    /// Transfers that may share one HTTP/2 connection (`UPSTREAM_STREAMS_PER_CONNECTION`); 1: none do, and each
    /// connection speaks HTTP/1.1 (see `UpstreamClient.sharesConnections`).
    var streamsPerConnection: Int
    /// The PEM file of the CA certificates trusted for the upstream (`UPSTREAM_CA_FILE`); nil: libcurl's built-in
    /// bundle (see `UpstreamTrust`).
    var caFile: String?
    /// Whether TLS connections read ahead (`UPSTREAM_TLS_READ_AHEAD`, see `TLSReadAhead`). Only HTTP/1.1
    /// connections do: with `streamsPerConnection` above 1 it is off.
    var tlsReadAhead: Bool

    init(streamsPerConnection: Int = 1, caFile: String? = nil, tlsReadAhead: Bool = true) {
        self.streamsPerConnection = streamsPerConnection
        self.caFile = caFile
        self.tlsReadAhead = tlsReadAhead && streamsPerConnection == 1
    }

    init(_ config: GatewayConfig) {
        self.init(streamsPerConnection: config.upstreamStreamsPerConnection, caFile: config.upstreamCAFile,
                  tlsReadAhead: config.upstreamTLSReadAhead && config.upstreamBaseURL.hasPrefix("https://"))
    }
}
