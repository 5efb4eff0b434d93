/// Removes JSON-Schema keywords Cerebras rejects in tool `parameters`, keeping everything else byte-stable.
///
/// The list comes from requests Cerebras answered with 400 (see TRANSLATION.md); a fixture pins each entry.
///
/// Only objects the rules change are rebuilt; the rest are returned as they are, nothing copied (most schemas keep
/// every keyword: Claude Code's lose only the `$schema` at their root). It runs on the first sight of a tool list
/// (`ToolListMemo`), over every key of every schema.
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

    private static let keywordRoles: [(keyword: String, role: Role)] =
        rejectedKeywords.map { ($0, .rejected) } + [
            ("additionalProperties", .additionalProperties), ("items", .items), ("not", .subschema),
            // Keys whose value is a map of name → subschema.
            ("properties", .schemaMap), ("$defs", .schemaMap), ("definitions", .schemaMap),
            // Keys whose value is a list of subschemas.
            ("anyOf", .schemaList), ("oneOf", .schemaList), ("allOf", .schemaList), ("prefixItems", .schemaList),
        ]

    private static let roles = ByteStringTable(keywordRoles.map { (string: $0.keyword, value: $0.role) })

    public static func sanitize(_ schema: JSONValue) -> JSONValue {
        guard case .object(let object) = schema, let changed = sanitized(object) else { return schema }
        return .object(changed)
    }

    private typealias Field = (key: String, value: JSONValue)

    /// The object with the rules applied, or nil when they change nothing in it (or in anything it holds).
    private static func sanitized(_ object: JSONObject) -> JSONObject? {
        changedCopy(of: object.fields) { change(of: $0, in: object) }.map(JSONObject.init)
    }

    /// What the rules do to one field of `object`.
    private static func change(of field: Field, in object: JSONObject) -> Change<Field> {
        guard let role = field.key.withBorrowedUTF8({ roles.value(for: $0) }) else { return .keep }
        func replacingValue(with value: JSONValue?) -> Change<Field> {
            value.map { .replace((field.key, $0)) } ?? .keep
        }
        let value = field.value
        switch role {
        case .rejected:
            return .drop
        case .additionalProperties:
            // Cerebras accepts only `false` on an object that lists its properties.
            return value == .bool(false) && object["properties"] != nil ? .keep : .drop
        case .items:
            // Tuple-form `items` (an array) and `items` on non-array schemas are rejected.
            guard case .object(let items) = value else { return .drop }
            let type = object["type"]
            guard type == nil || typeIncludes(type, "array") else { return .drop }
            return replacingValue(with: sanitized(items).map(JSONValue.object))
        case .subschema:
            guard case .object(let subschema) = value else { return .keep }
            return replacingValue(with: sanitized(subschema).map(JSONValue.object))
        case .schemaMap:
            // A map of name → subschema.
            guard case .object(let map) = value else { return .keep }
            let changedMap = changedCopy(of: map.fields) { entry -> Change<Field> in
                guard case .object(let subschema) = entry.value, let changed = sanitized(subschema) else {
                    return .keep
                }
                return .replace((entry.key, .object(changed)))
            }
            return replacingValue(with: changedMap.map { .object(JSONObject($0)) })
        case .schemaList:
            // A list of subschemas.
            guard case .array(let list) = value else { return .keep }
            let changedList = changedCopy(of: list) { element -> Change<JSONValue> in
                guard case .object(let subschema) = element, let changed = sanitized(subschema) else { return .keep }
                return .replace(.object(changed))
            }
            return replacingValue(with: changedList.map(JSONValue.array))
        }
    }

    private enum Change<Element> {
        case keep, drop, replace(Element)
    }

    /// `elements` with `change` applied to each (kept, dropped or replaced), or nil when it keeps them all; copied
    /// only from the first element it drops or replaces on.
    private static func changedCopy<Element>(
        of elements: [Element], _ change: (Element) -> Change<Element>
    ) -> [Element]? {
        var rebuilt: [Element]?
        for (index, element) in elements.enumerated() {
            let outcome = change(element)
            if rebuilt == nil {
                if case .keep = outcome { continue }
                rebuilt = Array(elements[..<index])
                rebuilt?.reserveCapacity(elements.count)
            }
            switch outcome {
            case .keep: rebuilt?.append(element)
            case .drop: break
            case .replace(let replacement): rebuilt?.append(replacement)
            }
        }
        return rebuilt
    }

    private static func typeIncludes(_ type: JSONValue?, _ name: String) -> Bool {
        switch type {
        case .string(let single): return single == name
        case .array(let many): return many.contains(.string(name))
        default: return false
        }
    }
}
