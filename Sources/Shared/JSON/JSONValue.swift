/// A parsed JSON document that keeps object key order and the exact text of numbers.
///
/// Key order and number text are kept so that re-serialising a client's tool schema or tool input is
/// byte-stable: Cerebras's prompt cache matches exact prefixes only.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number exactly as written (validated JSON number syntax).
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    public static func int(_ value: Int) -> JSONValue { .number(String(value)) }
    public static func double(_ value: Double) -> JSONValue { .number(JSONWriter.format(value)) }
}

/// A JSON object: ordered key/value pairs; lookups find the last occurrence of a key, as JavaScript does.
public struct JSONObject: Sendable, Equatable {
    public var fields: [(key: String, value: JSONValue)]

    public init(_ fields: [(key: String, value: JSONValue)] = []) {
        self.fields = fields
    }

    public subscript(key: String) -> JSONValue? {
        get {
            // Lengths first: most keys passed over differ in length, which settles it without a string comparison.
            let length = key.utf8.count
            for index in fields.indices.reversed()
            where fields[index].key.utf8.count == length && fields[index].key == key {
                return fields[index].value
            }
            return nil
        }
        set {
            if let index = fields.lastIndex(where: { $0.key == key }) {
                if let newValue {
                    fields[index].value = newValue
                } else {
                    fields.remove(at: index)
                }
            } else if let newValue {
                fields.append((key, newValue))
            }
        }
    }

    public var isEmpty: Bool { fields.isEmpty }
    public var count: Int { fields.count }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.fields.count == rhs.fields.count else { return false }
        for (left, right) in zip(lhs.fields, rhs.fields) where left.key != right.key || left.value != right.value {
            return false
        }
        return true
    }
}

extension JSONValue {
    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var doubleValue: Double? {
        if case .number(let text) = self { return Double(text) }
        return nil
    }

    /// The value as an integer when it is a number with no fractional part that fits an `Int`.
    public var intValue: Int? {
        guard case .number(let text) = self else { return nil }
        if let exact = Int(text) { return exact }
        guard let double = Double(text), double.rounded() == double, abs(double) < 9.0e18 else { return nil }
        return Int(double)
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    public var objectValue: JSONObject? {
        if case .object(let value) = self { return value }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The JSON type name used in validation messages.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}
