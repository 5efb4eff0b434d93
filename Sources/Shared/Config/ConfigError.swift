/// An invalid configuration value, naming the option and how to fix it.
public struct ConfigError: Error, Equatable, CustomStringConvertible {
    public let option: String
    public let problem: String
    public let fix: String

    public init(option: String, problem: String, fix: String) {
        self.option = option
        self.problem = problem
        self.fix = fix
    }

    public var description: String { "\(option): \(problem) — \(fix)" }
}
