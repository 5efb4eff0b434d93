/// The member names and values that recur in nearly every Messages API body — the API's own member names, JSON
/// Schema's keywords in tool schemas, and the values of `type` and `role` members — each made into a `String` once.
///
/// Parsing a string of this list then costs a comparison instead of making a new `String`: Swift validates and
/// copies the bytes of every `String` it makes (about 250 instructions for a short ASCII one, plus an allocation past
/// 15 bytes), and a request's tool schemas repeat the same few dozen words hundreds of times. The list is the API's
/// vocabulary, not one client's: a string that is not in it is made as before.
enum CommonJSONStrings {
    static let strings: [String] = [
        // Messages API members.
        "model", "max_tokens", "messages", "system", "stream", "temperature", "top_p", "top_k", "stop_sequences",
        "metadata", "user_id", "tools", "tool_choice", "thinking", "budget_tokens", "type", "text", "role", "content",
        "name", "description", "input_schema", "id", "input", "tool_use_id", "is_error", "cache_control", "ttl",
        "source", "media_type", "data", "url", "signature", "citations", "disable_parallel_tool_use",
        "context_management", "service_tier",
        // Their values.
        "user", "assistant", "image", "document", "tool_use", "tool_result", "redacted_thinking", "ephemeral",
        "base64", "auto", "any", "tool", "none", "enabled", "disabled", "image/png", "image/jpeg", "image/webp",
        "image/gif", "application/pdf", "text/plain",
        // JSON Schema keywords and type names.
        "properties", "required", "items", "enum", "const", "default", "format", "minimum", "maximum", "minLength",
        "maxLength", "minItems", "maxItems", "additionalProperties", "$schema", "$ref", "$defs", "definitions", "anyOf",
        "oneOf", "allOf", "not", "pattern", "title", "examples", "nullable", "exclusiveMinimum", "exclusiveMaximum",
        "uniqueItems", "propertyNames", "patternProperties", "object", "string", "number", "integer", "boolean",
        "array", "null", "http://json-schema.org/draft-07/schema#", "https://json-schema.org/draft/2020-12/schema",
    ]

    private static let table = ByteStringTable(strings.map { (string: $0, value: $0) })

    /// The string of the list spelled by `buffer[range]`, or nil. `buffer` may be larger than the range: the first
    /// word is then read in one load when eight bytes are there to read.
    @inline(__always)
    static func string(in buffer: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String? {
        let length = range.count
        guard length > 0, length <= ByteStringTable<String>.maximumLength, let base = buffer.baseAddress,
            range.lowerBound &+ 8 <= buffer.count
        else { return table.value(for: UnsafeBufferPointer(rebasing: buffer[range])) }
        let start = base + range.lowerBound
        var head = UnsafeRawPointer(start).loadUnaligned(as: UInt64.self)
        if length < 8 { head &= (1 << (8 * UInt64(length))) &- 1 }
        return table.value(head: head, length: length, start: start)
    }
}
