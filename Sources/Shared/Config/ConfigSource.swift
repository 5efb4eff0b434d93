/// Where configuration values come from, merged with a documented precedence:
/// command-line flags > environment variables > the `.env` file > built-in defaults.
public struct ConfigSource: Sendable, Equatable {
    public private(set) var values: [String: String]

    public init(values: [String: String]) {
        self.values = values
    }

    /// Merges the sources. `--some-option value` and `--some-option=value` set `SOME_OPTION`.
    public static func merge(
        environment: [String: String], envFile: String?, arguments: [String]
    ) throws(ConfigError) -> ConfigSource {
        var values: [String: String] = [:]
        if let envFile { values.merge(try parseEnvFile(envFile), uniquingKeysWith: { _, new in new }) }
        values.merge(environment, uniquingKeysWith: { _, new in new })
        values.merge(try parseFlags(arguments), uniquingKeysWith: { _, new in new })
        return ConfigSource(values: values)
    }

    /// `KEY=value` lines; `#` comments, blank lines, optional `export ` and single or double quotes.
    public static func parseEnvFile(_ text: String) throws(ConfigError) -> [String: String] {
        var values: [String: String] = [:]
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = rawLine.trimmed(" \t\r")
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmed(" \t") }
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigError(option: ".env line \(number + 1)", problem: "no '=' in \"\(line)\"",
                                  fix: "write KEY=value")
            }
            let key = line[..<equals].trimmed(" \t")
            var value = line[line.index(after: equals)...].trimmed(" \t")
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            } else if let hash = value.firstRange(of: " #") {
                value = value[..<hash.lowerBound].trimmed(" \t")
            }
            values[key] = value
        }
        return values
    }

    public static func parseFlags(_ arguments: [String]) throws(ConfigError) -> [String: String] {
        var values: [String: String] = [:]
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            guard argument.hasPrefix("--"), argument.count > 2 else {
                throw ConfigError(option: argument, problem: "unexpected argument", fix: "see --help")
            }
            var name = String(argument.dropFirst(2))
            var value: String
            if let equals = name.firstIndex(of: "=") {
                value = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            } else if index + 1 < arguments.count, !arguments[index + 1].hasPrefix("--") {
                index += 1
                value = arguments[index]
            } else {
                value = "true"
            }
            values[name.uppercased().replacing("-", with: "_")] = value
            index += 1
        }
        return values
    }

    public subscript(_ key: String) -> String? {
        guard let value = values[key], !value.isEmpty else { return nil }
        return value
    }

    public func string(_ key: String, default fallback: String) -> String { self[key] ?? fallback }

    public func int(_ key: String, default fallback: Int, range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard let text = self[key] else { return fallback }
        guard let value = Int(text.replacing("_", with: "")) else {
            throw ConfigError(option: key, problem: "\"\(text)\" is not an integer", fix: "set a whole number")
        }
        guard range.contains(value) else {
            throw ConfigError(option: key, problem: "\(value) is out of range",
                              fix: "set a value between \(range.lowerBound) and \(range.upperBound)")
        }
        return value
    }

    public func double(_ key: String, default fallback: Double, range: ClosedRange<Double>) throws(ConfigError) -> Double {
        guard let text = self[key] else { return fallback }
        guard let value = Double(text), value.isFinite else {
            throw ConfigError(option: key, problem: "\"\(text)\" is not a number", fix: "set a number")
        }
        guard range.contains(value) else {
            throw ConfigError(option: key, problem: "\(value) is out of range",
                              fix: "set a value between \(range.lowerBound) and \(range.upperBound)")
        }
        return value
    }

    public func bool(_ key: String, default fallback: Bool) throws(ConfigError) -> Bool {
        guard let text = self[key] else { return fallback }
        switch text.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default:
            throw ConfigError(option: key, problem: "\"\(text)\" is not a boolean", fix: "set true or false")
        }
    }

    public func list(_ key: String) -> [String] {
        (self[key] ?? "").split(separator: ",").map { $0.trimmed(" \t") }.filter { !$0.isEmpty }
    }
}

extension StringProtocol {
    /// The text without the given characters at either end.
    public func trimmed(_ set: String) -> String {
        let characters = Set(set)
        var slice = Substring(self)
        while let first = slice.first, characters.contains(first) { slice.removeFirst() }
        while let last = slice.last, characters.contains(last) { slice.removeLast() }
        return String(slice)
    }
}
