import NIOHTTP1

/// The routes the gateway answers (TRANSLATION.md, "Endpoints").
enum Route: Equatable, Sendable {
    case messages
    case countTokens
    case listModels
    case getModel(String)
    case health
    case metrics
    case root
    case eventLogging
    case notFound
    case methodNotAllowed(allowed: String)

    /// Whether the route needs a client key.
    var requiresAuth: Bool {
        switch self {
        case .messages, .countTokens, .listModels, .getModel: return true
        default: return false
        }
    }

    var metricLabel: String {
        switch self {
        case .messages: return "messages"
        case .countTokens: return "count_tokens"
        case .listModels, .getModel: return "models"
        case .health: return "health"
        case .metrics: return "metrics"
        case .root: return "root"
        case .eventLogging: return "event_logging"
        case .notFound, .methodNotAllowed: return "other"
        }
    }

    static func resolve(method: HTTPMethod, uri: String) -> Route {
        // Any query string is accepted (`?beta=true`). The path is a view into the URI: no array, no copy.
        let path = uri.utf8.firstIndex(of: UInt8(ascii: "?")).map { uri[..<$0] } ?? uri[...]
        func only(_ allowed: HTTPMethod..., route: Route) -> Route {
            if allowed.contains(method) || (method == .HEAD && allowed.contains(.GET)) { return route }
            return .methodNotAllowed(allowed: allowed.map(\.rawValue).joined(separator: ", "))
        }
        switch path {
        case "/v1/messages", "/v1/messages/": return only(.POST, route: .messages)
        case "/v1/messages/count_tokens": return only(.POST, route: .countTokens)
        case "/v1/models", "/v1/models/": return only(.GET, route: .listModels)
        case "/health", "/healthz": return only(.GET, route: .health)
        case "/metrics": return only(.GET, route: .metrics)
        case "/", "": return only(.GET, route: .root)
        case "/api/event_logging/batch": return only(.POST, route: .eventLogging)
        default:
            if path.hasPrefix("/v1/models/") {
                let id = String(path.dropFirst("/v1/models/".count))
                return id.isEmpty || id.contains("/") ? .notFound : only(.GET, route: .getModel(id))
            }
            return .notFound
        }
    }
}
