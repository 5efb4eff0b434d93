/// Reads the configuration from the process (environment, `.env` file, flags, keys file) and validates it.
/// The only configuration code that does I/O.
public enum ConfigLoader {
    /// The number of CPUs this process may run on (the `WORKERS` default).
    public static var cpuCount: Int { ProcessorCount.available() }

    public static func load(
        environment: [String: String] = ProcessEnvironment.current(), arguments: [String]
    ) throws(ConfigError) -> (config: GatewayConfig, source: ConfigSource) {
        let flags = try ConfigSource.parseFlags(arguments)
        // An empty ENV_FILE (or /dev/null) means "no file": the master passes its workers the resolved values.
        let envFilePath = flags["ENV_FILE"] ?? environment["ENV_FILE"] ?? ".env"
        var envFile: String?
        if envFilePath.isEmpty || envFilePath == "/dev/null" {
            envFile = nil
        } else if TextFile.exists(atPath: envFilePath) {
            guard let text = TextFile.contents(atPath: envFilePath) else {
                throw ConfigError(option: "ENV_FILE", problem: "cannot read \(envFilePath)",
                                  fix: "check the file's permissions")
            }
            envFile = text
        } else if flags["ENV_FILE"] != nil || environment["ENV_FILE"] != nil {
            throw ConfigError(option: "ENV_FILE", problem: "\(envFilePath) does not exist", fix: "create it or unset ENV_FILE")
        }
        let source = try ConfigSource.merge(environment: environment, envFile: envFile, arguments: arguments)
        let unknown = Set(flags.keys).subtracting(ConfigOption.names)
        if let first = unknown.sorted().first {
            throw ConfigError(option: "--" + first.lowercased().replacing("_", with: "-"),
                              problem: "unknown option", fix: "see --help for the list of options")
        }
        var keysFile: String?
        if let path = source["GATEWAY_KEYS_FILE"] {
            guard let text = TextFile.contents(atPath: path) else {
                throw ConfigError(option: "GATEWAY_KEYS_FILE", problem: "cannot read \(path)",
                                  fix: "point it at a readable file of SHA-256 digests")
            }
            keysFile = text
        }
        if let path = source["UPSTREAM_CA_FILE"] {
            guard let text = TextFile.contents(atPath: path) else {
                throw ConfigError(option: "UPSTREAM_CA_FILE", problem: "cannot read \(path)",
                                  fix: "point it at a readable PEM file of CA certificates, or unset it")
            }
            guard text.contains("-----BEGIN CERTIFICATE-----") else {
                throw ConfigError(option: "UPSTREAM_CA_FILE", problem: "\(path) holds no PEM certificate",
                                  fix: "point it at a PEM file of CA certificates, or unset it")
            }
        }
        let config = try GatewayConfig(source: source, keysFileContents: keysFile, cpuCount: cpuCount)
        return (config, source)
    }

    /// `--help` text listing every option with its default.
    public static func helpText(executable: String) -> String {
        var text = """
            cerebras-gateway — Anthropic Messages API in front of Cerebras

            Usage:
              \(executable) [--option value …]      run the gateway (master + workers)
              \(executable) check-config [--option value …]   validate the configuration and exit
              \(executable) --version | --help

            Every option is also an environment variable (--max-body-bytes ⇔ MAX_BODY_BYTES) and may be set in
            the .env file. Precedence: flags > environment > .env file > defaults.

            Signals: TERM/INT graceful stop · QUIT immediate stop · HUP reload · TTIN/TTOU one worker more/less ·
            USR1 reopen the log file.

            """
        var group = ""
        for option in ConfigOption.all {
            if option.group != group {
                group = option.group
                text += "\n\(group):\n"
            }
            let flag = "--" + option.name.lowercased().replacing("_", with: "-")
            let defaultText = option.defaultValue.isEmpty ? "" : " (default: \(option.defaultValue))"
            text += "  \(flag.paddedOrTruncated(toLength: 38)) \(option.summary)\(defaultText)\n"
        }
        return text
    }
}

extension String {
    /// The text cut or space-padded to `length` characters, for the `--help` columns (what Foundation's
    /// `padding(toLength:withPad:startingAt:)` did for these ASCII flag names).
    fileprivate func paddedOrTruncated(toLength length: Int) -> String {
        count >= length ? String(prefix(length)) : self + String(repeating: " ", count: length - count)
    }
}
