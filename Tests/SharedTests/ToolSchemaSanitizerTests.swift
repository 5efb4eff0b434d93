import Foundation
import Shared
import TestSupport
import Testing

@Suite("Tool schema sanitizer")
struct ToolSchemaSanitizerTests {
    /// The rules written plainly, rebuilding every object: what `ToolSchemaSanitizer` must give for any schema.
    static func reference(_ schema: JSONValue) -> JSONValue {
        guard case .object(let object) = schema else { return schema }
        let isArraySchema = typeIncludes(object["type"], "array")
        let hasProperties = object["properties"] != nil
        var result = JSONObject()
        for (key, value) in object.fields {
            switch key {
            case _ where ToolSchemaSanitizer.rejectedKeywords.contains(key):
                continue
            case "additionalProperties":
                guard value == .bool(false), hasProperties else { continue }
                result.fields.append((key, value))
            case "items":
                guard case .object = value, isArraySchema || object["type"] == nil else { continue }
                result.fields.append((key, reference(value)))
            case "not":
                result.fields.append((key, reference(value)))
            case "properties", "$defs", "definitions":
                guard case .object(let map) = value else {
                    result.fields.append((key, value))
                    continue
                }
                result.fields.append((key, .object(JSONObject(map.fields.map { ($0.key, reference($0.value)) }))))
            case "anyOf", "oneOf", "allOf", "prefixItems":
                guard case .array(let list) = value else {
                    result.fields.append((key, value))
                    continue
                }
                result.fields.append((key, .array(list.map(reference))))
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

    /// Random schemas over every keyword the rules name, near misses of them, and plain keys, with keywords in the
    /// wrong places, of the wrong types, given twice, and nested.
    struct SchemaGenerator {
        var random: SplitMix64
        static let keys = Array(ToolSchemaSanitizer.rejectedKeywords).sorted() + [
            "additionalProperties", "items", "not", "properties", "$defs", "definitions", "anyOf", "oneOf", "allOf",
            "prefixItems", "type", "type", "description", "required", "enum", "default", "format", "title",
            // Near misses: same length or first byte as a keyword, or a keyword's prefix.
            "item", "Items", "nott", "propertie", "$def", "description!", "iff", "anyOF", "thens", "$schemas", "",
            "a", "\u{212A}", "properties\u{301}",
        ]
        static let types = ["object", "array", "string", "integer"]

        mutating func below(_ bound: Int) -> Int { Int(random.next() % UInt64(bound)) }

        mutating func schema(depth: Int) -> JSONValue {
            guard depth < 4, below(6) != 0 else { return leaf() }
            var fields: [(key: String, value: JSONValue)] = []
            for _ in 0..<below(7) {
                let key = Self.keys[below(Self.keys.count)]
                fields.append((key, value(for: key, depth: depth)))
            }
            return .object(JSONObject(fields))
        }

        mutating func value(for key: String, depth: Int) -> JSONValue {
            switch (key, below(5)) {
            case ("type", 0): return .array([.string(Self.types[below(4)]), .string(Self.types[below(4)])])
            case ("type", _): return .string(Self.types[below(4)])
            case ("additionalProperties", 0...1): return .bool(below(2) == 0)
            case ("properties", 1...4), ("$defs", 1...4), ("definitions", 1...4):
                var map: [(key: String, value: JSONValue)] = []
                for index in 0..<below(4) { map.append(("p\(index)", schema(depth: depth + 1))) }
                // Property names that are keywords are names, not keywords: they stay.
                if below(3) == 0 { map.append(("items", schema(depth: depth + 1))) }
                return .object(JSONObject(map))
            case ("anyOf", 1...4), ("oneOf", 1...4), ("allOf", 1...4), ("prefixItems", 1...4), ("items", 0):
                return .array((0..<below(4)).map { _ in schema(depth: depth + 1) })
            default:
                return below(3) == 0 ? leaf() : schema(depth: depth + 1)
            }
        }

        mutating func leaf() -> JSONValue {
            switch below(5) {
            case 0: return .string("x")
            case 1: return .bool(false)
            case 2: return .int(below(9))
            case 3: return .null
            default: return .object(JSONObject())
            }
        }
    }

    @Test("random schemas sanitise exactly as the plain rules do")
    func randomSchemas() {
        var generator = SchemaGenerator(random: SplitMix64(seed: 0x5A17_12E5))
        var changed = 0
        for index in 0..<20_000 {
            let schema = generator.schema(depth: 0)
            let sanitized = ToolSchemaSanitizer.sanitize(schema)
            let expected = Self.reference(schema)
            guard sanitized == expected else {
                // The first difference only, as JSON text: one is enough to replay (the generator is seeded).
                Issue.record("""
                    schema \(index): \(schema.serializedString)
                    sanitised: \(sanitized.serializedString)
                    expected:  \(expected.serializedString)
                    """)
                return
            }
            if sanitized != schema { changed += 1 }
        }
        // Both kinds are exercised: schemas the rules change and schemas they leave alone.
        #expect(changed > 2_000)
        #expect(changed < 18_000)
    }

    @Test("every tool schema of the golden requests sanitises as the plain rules do",
          arguments: ToolListMemoTests.cases)
    func goldenSchemas(_ fixture: FixtureCase) throws {
        let body = try #require(fixture.bytes("anthropic.request.json"))
        guard case .array(let tools)? = try JSONParser.parse(body)["tools"] else { return }
        for case .object(let tool) in tools {
            guard let schema = tool["input_schema"] else { continue }
            #expect(ToolSchemaSanitizer.sanitize(schema) == Self.reference(schema))
        }
    }

    @Test("a schema the rules leave alone comes back as it is; one they change loses only what they remove")
    func unchangedAndChanged() throws {
        let kept = try JSONParser.parse(Array(#"""
            {"type":"object","properties":{"items":{"type":"array","items":{"type":"string","enum":["a"]}},
            "anyOf":{"type":"string"}},"additionalProperties":false,"required":["items"]}
            """#.utf8))
        #expect(ToolSchemaSanitizer.sanitize(kept) == kept)

        let changed = try JSONParser.parse(Array(#"""
            {"$schema":"x","type":"object","properties":{"a":{"type":"array","minItems":1,"items":
            {"type":"object","additionalProperties":{"type":"string"},"properties":{"b":{"if":{}}}}}},
            "anyOf":[{"type":"string"},{"type":"string","maxLength":3,"else":{}}]}
            """#.utf8))
        let expected = try JSONParser.parse(Array(#"""
            {"type":"object","properties":{"a":{"type":"array","items":
            {"type":"object","properties":{"b":{}}}}},
            "anyOf":[{"type":"string"},{"type":"string","maxLength":3}]}
            """#.utf8))
        #expect(ToolSchemaSanitizer.sanitize(changed) == expected)
    }
}
