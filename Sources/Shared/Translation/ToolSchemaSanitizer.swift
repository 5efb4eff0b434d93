/// Removes JSON-Schema keywords Cerebras rejects in tool `parameters`, keeping everything else byte-stable.
///
/// The list comes from requests Cerebras answered with 400 (see TRANSLATION.md); a fixture pins each entry.
public enum ToolSchemaSanitizer {
    /// Keywords removed wherever they appear.
    public static let rejectedKeywords: Set<String> = [
        "$schema", "$id", "$comment", "minItems", "maxItems", "uniqueItems", "minProperties", "maxProperties",
        "patternProperties", "propertyNames", "unevaluatedProperties", "unevaluatedItems", "dependentRequired",
        "dependentSchemas", "contains", "minContains", "maxContains", "if", "then", "else",
    ]

    /// Keys whose value is a map of name → subschema.
    private static let schemaMaps: Set<String> = ["properties", "$defs", "definitions"]
    /// Keys whose value is a list of subschemas.
    private static let schemaLists: Set<String> = ["anyOf", "oneOf", "allOf", "prefixItems"]

    public static func sanitize(_ schema: JSONValue) -> JSONValue {
        guard case .object(let object) = schema else { return schema }
        let isArraySchema = typeIncludes(object["type"], "array")
        let hasProperties = object["properties"] != nil
        var result = JSONObject()
        for (key, value) in object.fields {
            if rejectedKeywords.contains(key) { continue }
            switch key {
            case "additionalProperties":
                // Cerebras accepts only `false` on an object that lists its properties.
                guard value == .bool(false), hasProperties else { continue }
                result.fields.append((key, value))
            case "items":
                // Tuple-form `items` (an array) and `items` on non-array schemas are rejected.
                guard case .object = value, isArraySchema || object["type"] == nil else { continue }
                result.fields.append((key, sanitize(value)))
            case "not":
                result.fields.append((key, sanitize(value)))
            case _ where schemaMaps.contains(key):
                guard case .object(let map) = value else {
                    result.fields.append((key, value))
                    continue
                }
                result.fields.append((key, .object(JSONObject(map.fields.map { ($0.key, sanitize($0.value)) }))))
            case _ where schemaLists.contains(key):
                guard case .array(let list) = value else {
                    result.fields.append((key, value))
                    continue
                }
                result.fields.append((key, .array(list.map(sanitize))))
            default:
                result.fields.append((key, value))
            }
        }
        return .object(result)
    }

    private static func typeIncludes(_ type: JSONValue?, _ name: String) -> Bool {
        switch type {
        case .string(let single): return single == name
        case .array(let many): return many.contains(.string(name))
        default: return false
        }
    }
}
