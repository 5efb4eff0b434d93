import Shared

/// Renders JSON with two-space indentation and keys in their order, for golden files a reviewer reads.
enum PrettyJSON {
    static func render(_ value: JSONValue) -> String {
        var out = ""
        write(value, indent: 0, to: &out)
        return out + "\n"
    }

    private static func write(_ value: JSONValue, indent: Int, to out: inout String) {
        let pad = String(repeating: "  ", count: indent + 1)
        let closePad = String(repeating: "  ", count: indent)
        switch value {
        case .array(let elements) where !elements.isEmpty:
            out += "[\n"
            for (index, element) in elements.enumerated() {
                out += pad
                write(element, indent: indent + 1, to: &out)
                out += index + 1 < elements.count ? ",\n" : "\n"
            }
            out += closePad + "]"
        case .object(let object) where !object.isEmpty:
            out += "{\n"
            for (index, field) in object.fields.enumerated() {
                out += pad + JSONValue.string(field.key).serializedString + ": "
                write(field.value, indent: indent + 1, to: &out)
                out += index + 1 < object.fields.count ? ",\n" : "\n"
            }
            out += closePad + "}"
        default:
            out += value.serializedString
        }
    }
}
