/// The gateway's version: printed by `--version`, reported by `/health` and the `build_info` metric.
enum GatewayVersion {
    static let current = "0.1.0"
}
