/// A client request that cannot be served, naming the offending field path
/// (`messages.3.content.1: unknown block type "foo"`).
public struct RequestValidationError: Error, Equatable, CustomStringConvertible {
    public let path: String
    public let message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// Builds field paths while walking a JSON document.
///
/// A path is made for every message and content block but only rendered for an error, so appending is one small
/// allocation that shares the parent instead of copying its components.
struct FieldPath: Sendable {
    private indirect enum Node: Sendable {
        case root
        case key(parent: Node, String)
        case index(parent: Node, Int)
    }

    private let node: Node

    init(_ components: [String] = []) {
        node = components.reduce(Node.root) { .key(parent: $0, $1) }
    }

    private init(node: Node) {
        self.node = node
    }

    /// `messages`, made once: every message of every request is decoded with a path below it.
    static let messages = FieldPath(["messages"])

    func appending(_ key: String) -> FieldPath { FieldPath(node: .key(parent: node, key)) }
    func appending(_ index: Int) -> FieldPath { FieldPath(node: .index(parent: node, index)) }

    var text: String {
        var reversedComponents: [String] = []
        var node = self.node
        while true {
            switch node {
            case .root:
                return reversedComponents.reversed().joined(separator: ".")
            case .key(let parent, let key):
                reversedComponents.append(key)
                node = parent
            case .index(let parent, let index):
                reversedComponents.append(String(index))
                node = parent
            }
        }
    }

    func error(_ message: String) -> RequestValidationError {
        RequestValidationError(path: text, message: message)
    }
}

/// Typed accessors over a JSON object that report errors with the field's path.
struct FieldReader {
    let object: JSONObject
    let path: FieldPath

    init(_ value: JSONValue, path: FieldPath) throws {
        guard case .object(let object) = value else {
            throw path.error("expected an object, got \(value.typeName)")
        }
        self.object = object
        self.path = path
    }

    /// A present, non-null field.
    func optional(_ key: String) -> JSONValue? {
        guard let value = object[key], !value.isNull else { return nil }
        return value
    }

    func required(_ key: String) throws -> JSONValue {
        guard let value = optional(key) else { throw path.appending(key).error("Field required") }
        return value
    }

    func string(_ key: String) throws -> String? {
        guard let value = optional(key) else { return nil }
        guard case .string(let text) = value else {
            throw path.appending(key).error("expected a string, got \(value.typeName)")
        }
        return text
    }

    func requiredString(_ key: String) throws -> String {
        guard let text = try string(key) else { throw path.appending(key).error("Field required") }
        return text
    }

    func bool(_ key: String) throws -> Bool? {
        guard let value = optional(key) else { return nil }
        guard case .bool(let flag) = value else {
            throw path.appending(key).error("expected a boolean, got \(value.typeName)")
        }
        return flag
    }

    func double(_ key: String) throws -> Double? {
        guard let value = optional(key) else { return nil }
        guard let number = value.doubleValue, number.isFinite else {
            throw path.appending(key).error("expected a number, got \(value.typeName)")
        }
        return number
    }

    func int(_ key: String) throws -> Int? {
        guard let value = optional(key) else { return nil }
        guard case .number = value else {
            throw path.appending(key).error("expected an integer, got \(value.typeName)")
        }
        guard let number = value.intValue else {
            throw path.appending(key).error("expected an integer in range, got \(value.serializedString)")
        }
        return number
    }

    func array(_ key: String) throws -> [JSONValue]? {
        guard let value = optional(key) else { return nil }
        guard case .array(let elements) = value else {
            throw path.appending(key).error("expected an array, got \(value.typeName)")
        }
        return elements
    }

    func nested(_ key: String) throws -> FieldReader? {
        guard let value = optional(key) else { return nil }
        return try FieldReader(value, path: path.appending(key))
    }
}
