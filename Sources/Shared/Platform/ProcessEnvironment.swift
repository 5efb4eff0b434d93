import CPlatform

/// The process's environment variables, read from `environ`.
public enum ProcessEnvironment {
    /// Every `NAME=value` entry; an entry without `=` is skipped and, for a repeated name, the last one wins.
    public static func current() -> [String: String] {
        var variables: [String: String] = [:]
        guard var entry = cg_environment() else { return variables }
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if let equals = text.firstIndex(of: "=") {
                variables[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            entry += 1
        }
        return variables
    }
}
