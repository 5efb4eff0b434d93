import Shared

/// The environment a worker starts with: the master's environment, overlaid with the fully resolved configuration
/// of the worker's generation, so that the worker boots on exactly what the master validated.
struct WorkerEnvironment: Sendable, Equatable {
    /// The addresses the master actually bound (PORT=0 resolved; a reload never moves them).
    var host: String
    var port: Int
    var adminPort: Int

    /// Variables meant for the master alone: systemd talks to the main pid only; fds are passed explicitly; and
    /// ENV_FILE because every value of the file is already in the resolved configuration (which, as environment,
    /// outranks any file) — an explicit ENV_FILE deleted or broken since would make a respawned worker fail to
    /// boot, and a boot failure halts the master. (`ENV_FILE=/dev/null`, which `ConfigLoader` reads as "no file",
    /// would say the same; dropping the key keeps the worker's environment shorter.)
    static let masterOnlyKeys: Set<String> = Set(
        SystemdNotifier.environmentKeys + ["LISTEN_PID", "LISTEN_FDNAMES", "ENV_FILE"])

    /// GnuTLS is in the process only because libcurl's own dependencies (libldap, librtmp) link it; the gateway's
    /// TLS is OpenSSL. Its load-time constructor still initialises it — p11-kit trust modules, priority tables —
    /// which is about 1 MB of memory per process for nothing. This documented GnuTLS switch skips that; it must be
    /// in the environment before the process starts, so the master sets it for its workers unless the operator
    /// chose a value (the systemd unit and the Docker image set it for the master itself).
    static let gnutlsImplicitInitKey = "GNUTLS_NO_IMPLICIT_INIT"

    /// glibc's allocator keeps freed blocks of each small size (up to 1,032 bytes) per thread for reuse without a
    /// lock or a search (its tcache), but only 7 of each size by default. A request allocates and frees dozens of
    /// blocks of a few sizes in bursts, so with 7 most of them went through the allocator's slow paths: allowing
    /// 64 took 2.5 % off a kept-alive request's instructions and 1–2 % off a stream's on a new connection
    /// (BENCHMARKS.md, "Twenty-seventh round"); at most about 2 MB per thread can wait in the bins. Read when a
    /// process starts, so the master sets it for its workers unless the operator set `GLIBC_TUNABLES` (an empty
    /// value keeps glibc's defaults).
    static let mallocTunablesKey = "GLIBC_TUNABLES"
    static let mallocTunables = "glibc.malloc.tcache_count=64"

    /// `KEY=value` strings, sorted (stable across generations, easy to diff in a debugger).
    func build(processEnvironment: [String: String], configuration: ConfigSource) -> [String] {
        var values = processEnvironment
        values.merge(configuration.values, uniquingKeysWith: { _, resolved in resolved })
        values = values.filter { !Self.masterOnlyKeys.contains($0.key) }
        values["HOST"] = host
        values["PORT"] = String(port)
        values["ADMIN_PORT"] = String(adminPort)
        values["LISTEN_FDS"] = "1"
        if values[Self.gnutlsImplicitInitKey] == nil { values[Self.gnutlsImplicitInitKey] = "1" }
        if values[Self.mallocTunablesKey] == nil { values[Self.mallocTunablesKey] = Self.mallocTunables }
        return values.map { "\($0.key)=\($0.value)" }.sorted()
    }
}
