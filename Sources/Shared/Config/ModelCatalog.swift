/// How a backend model is driven: its limits and which reasoning control it understands.
public struct ModelProfile: Sendable, Equatable {
    public enum ReasoningControl: String, Sendable {
        /// `reasoning_effort: low|medium|high` (GLM 4.7, gpt-oss).
        case reasoningEffort = "effort"
        /// `disable_reasoning: true|false` (older GLM).
        case disableReasoning = "disable"
        case none
    }

    public var name: String
    public var contextWindow: Int
    public var maxOutputTokens: Int
    public var supportsVision: Bool
    public var reasoning: ReasoningControl

    public init(name: String, contextWindow: Int, maxOutputTokens: Int, supportsVision: Bool = false,
                reasoning: ReasoningControl = .none) {
        self.name = name
        self.contextWindow = contextWindow
        self.maxOutputTokens = maxOutputTokens
        self.supportsVision = supportsVision
        self.reasoning = reasoning
    }

    /// Profiles of Cerebras's public models; `MODEL_PROFILES` overrides or adds to them.
    public static let builtIn: [ModelProfile] = [
        ModelProfile(name: "zai-glm-4.7", contextWindow: 131_072, maxOutputTokens: 40_000, reasoning: .reasoningEffort),
        ModelProfile(name: "zai-glm-4.6", contextWindow: 131_072, maxOutputTokens: 40_000, reasoning: .disableReasoning),
        ModelProfile(name: "gpt-oss-120b", contextWindow: 131_072, maxOutputTokens: 40_000, reasoning: .reasoningEffort),
        ModelProfile(name: "qwen-3-235b-a22b-instruct-2507", contextWindow: 131_072, maxOutputTokens: 40_000),
        ModelProfile(name: "qwen-3-32b", contextWindow: 65_536, maxOutputTokens: 16_384),
        ModelProfile(name: "llama-3.3-70b", contextWindow: 65_536, maxOutputTokens: 16_384),
        ModelProfile(name: "llama3.1-8b", contextWindow: 32_768, maxOutputTokens: 8_192),
    ]

    /// A profile for a backend model nobody described: a conservative context and output cap.
    public static func fallback(for name: String) -> ModelProfile {
        ModelProfile(name: name, contextWindow: 131_072, maxOutputTokens: 32_768)
    }
}

/// Maps requested (`claude-*`) model ids to backend models through ordered glob rules.
public struct ModelCatalog: Sendable, Equatable {
    public struct Rule: Sendable, Equatable {
        public var pattern: Glob
        public var target: String

        public init(pattern: String, target: String) {
            self.pattern = Glob(pattern)
            self.target = target
        }
    }

    /// Tried in order; the first match wins.
    public var rules: [Rule] { didSet { targets = Self.targets(of: rules, in: profiles) } }
    public var profiles: [String: ModelProfile] { didSet { targets = Self.targets(of: rules, in: profiles) } }
    /// Each rule's backend profile, looked up once rather than hashed by name for every request.
    private var targets: [ModelProfile]
    /// The ids `/v1/models` lists.
    public var aliases: [String]

    public static let defaultRules = [
        Rule(pattern: "claude-*haiku*", target: "gpt-oss-120b"),
        Rule(pattern: "*", target: "zai-glm-4.7"),
    ]

    public static let defaultAliases = [
        "claude-opus-4-5", "claude-opus-4-1", "claude-sonnet-4-5", "claude-sonnet-4-0",
        "claude-haiku-4-5", "claude-3-7-sonnet-latest", "claude-3-5-haiku-latest",
    ]

    public init(rules: [Rule] = ModelCatalog.defaultRules, profiles: [ModelProfile] = ModelProfile.builtIn,
                aliases: [String] = ModelCatalog.defaultAliases) {
        let profiles = Dictionary(profiles.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
        self.rules = rules
        self.profiles = profiles
        self.aliases = aliases
        targets = Self.targets(of: rules, in: profiles)
    }

    /// The backend profile for a requested id, or nil when no rule matches (a 404 for the client).
    public func resolve(_ requested: String) -> ModelProfile? {
        guard let index = rules.firstIndex(where: { $0.pattern.matches(requested) }) else { return nil }
        return targets[index]
    }

    private static func targets(of rules: [Rule], in profiles: [String: ModelProfile]) -> [ModelProfile] {
        rules.map { profiles[$0.target] ?? .fallback(for: $0.target) }
    }
}
