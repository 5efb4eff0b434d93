import Shared

/// `GET /v1/models` in Anthropic's list shape, over the configured aliases.
enum ModelsResponse {
    /// A fixed date: the aliases have no release date of their own, and a stable value keeps responses cacheable.
    static let createdAt = "2025-01-01T00:00:00Z"

    static func object(_ id: String, catalog: ModelCatalog) -> JSONValue? {
        guard let profile = catalog.resolve(id) else { return nil }
        return .object(JSONObject([
            ("type", .string("model")), ("id", .string(id)),
            ("display_name", .string("\(id) (served by \(profile.name))")), ("created_at", .string(createdAt)),
        ]))
    }

    static func list(_ catalog: ModelCatalog) -> [UInt8] {
        let models = catalog.aliases.compactMap { object($0, catalog: catalog) }
        return JSONValue.object(JSONObject([
            ("data", .array(models)), ("has_more", .bool(false)),
            ("first_id", catalog.aliases.first.map(JSONValue.string) ?? .null),
            ("last_id", catalog.aliases.last.map(JSONValue.string) ?? .null),
        ])).serialized
    }

    static func model(_ id: String, catalog: ModelCatalog) -> [UInt8]? {
        object(id, catalog: catalog)?.serialized
    }
}
