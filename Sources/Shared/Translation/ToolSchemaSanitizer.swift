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

    /// What the sanitizer does with a keyword.
    private enum Role {
        case rejected, additionalProperties, items, subschema, schemaMap, schemaList
    }

    /// One lookup per key: schemas are walked on every request, and most keys are kept as they are.
    private static let roles: [String: Role] = {
        var roles: [String: Role] = [
            "additionalProperties": .additionalProperties, "items": .items, "not": .subschema,
            // Keys whose value is a map of name → subschema.
            "properties": .schemaMap, "$defs": .schemaMap, "definitions": .schemaMap,
            // Keys whose value is a list of subschemas.
            "anyOf": .schemaList, "oneOf": .schemaList, "allOf": .schemaList, "prefixItems": .schemaList,
        ]
        for keyword in rejectedKeywords { roles[keyword] = .rejected }
        return roles
    }()

    public static func sanitize(_ schema: JSONValue) -> JSONValue {
        guard case .object(let object) = schema else { return schema }
        let isArraySchema = typeIncludes(object["type"], "array")
        let hasProperties = object["properties"] != nil
        var result = JSONObject()
        result.fields.reserveCapacity(object.count)
        for (key, value) in object.fields {
            switch roles[key] {
            case .rejected:
                continue
            case .additionalProperties:
                // Cerebras accepts only `false` on an object that lists its properties.
                guard value == .bool(false), hasProperties else { continue }
                result.fields.append((key, value))
            case .items:
                // Tuple-form `items` (an array) and `items` on non-array schemas are rejected.
                guard case .object = value, isArraySchema || object["type"] == nil else { continue }
                result.fields.append((key, sanitize(value)))
            case .subschema:
                result.fields.append((key, sanitize(value)))
            case .schemaMap:
                guard case .object(let map) = value else {
                    result.fields.append((key, value))
                    continue
                }
                result.fields.append((key, .object(JSONObject(map.fields.map { ($0.key, sanitize($0.value)) }))))
            case .schemaList:
                guard case .array(let list) = value else {
                    result.fields.append((key, value))
                    continue
                }
                result.fields.append((key, .array(list.map(sanitize))))
            case nil:
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
