#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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

    private static let roles = KeywordTable(keywordRoles)

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
        guard let role = roles.role(of: field.key) else { return .keep }
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

extension ToolSchemaSanitizer {
    /// The keywords with a role, found without hashing. A schema has many keys and few of them are keywords, so a
    /// key is first checked against the first and last bytes that keywords of its length have (two table loads
    /// turn away nearly every other key), and only a possible keyword is compared byte for byte (keywords are
    /// ASCII, so bytes compare as the strings do). Hashing every key was about 40% of the sanitizer's time.
    private struct KeywordTable: Sendable {
        /// Longer keys are never keywords.
        private static let maxLength = 32
        /// Per key length: a bit per first byte (modulo 64) that some keyword of that length starts with.
        private let firstBytes: [UInt64]
        /// Per key length: a bit per last byte (modulo 64) that some keyword of that length ends with.
        private let lastBytes: [UInt64]
        /// Every keyword's bytes, one after another.
        private let text: [UInt8]
        /// Where each keyword is in `text`, with its role, ordered by length; `byLength[n]` are those of length n.
        private let entries: [(offset: Int, role: Role)]
        private let byLength: [Range<Int>]

        init(_ keywords: [(keyword: String, role: Role)]) {
            var firstBytes = [UInt64](repeating: 0, count: Self.maxLength + 1)
            var lastBytes = firstBytes
            var text: [UInt8] = []
            var entries: [(offset: Int, role: Role)] = []
            var byLength = [Range<Int>](repeating: 0..<0, count: Self.maxLength + 1)
            for length in 1...Self.maxLength {
                let start = entries.count
                for (keyword, role) in keywords where keyword.utf8.count == length {
                    let bytes = Array(keyword.utf8)
                    firstBytes[length] |= 1 << (bytes[0] & 63)
                    lastBytes[length] |= 1 << (bytes[length - 1] & 63)
                    entries.append((text.count, role))
                    text += bytes
                }
                byLength[length] = start..<entries.count
            }
            precondition(entries.count == keywords.count, "a keyword is empty or longer than \(Self.maxLength) bytes")
            self.firstBytes = firstBytes
            self.lastBytes = lastBytes
            self.text = text
            self.entries = entries
            self.byLength = byLength
        }

        func role(of key: String) -> Role? {
            key.withBorrowedUTF8 { key -> Role? in
                let length = key.count
                guard length > 0, length <= Self.maxLength, let keyStart = key.baseAddress,
                    firstBytes[length] & (1 << (key[0] & 63)) != 0,
                    lastBytes[length] & (1 << (key[length - 1] & 63)) != 0
                else { return nil }
                return text.withUnsafeBufferPointer { text -> Role? in
                    guard let textStart = text.baseAddress else { return nil }
                    let candidates = entries[byLength[length]]
                    return candidates.first { memcmp(textStart + $0.offset, keyStart, length) == 0 }?.role
                }
            }
        }
    }
}
