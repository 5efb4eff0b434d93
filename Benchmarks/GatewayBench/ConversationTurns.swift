import Shared

/// A conversation growing turn by turn from one request body, as an agent sends it: each turn repeats the one before
/// and adds an assistant message calling a tool and the user message with its result, and the `cache_control` marker
/// moves from the previous newest message to the new one, as Claude Code moves it.
enum ConversationTurns {
    static func make(from body: [UInt8], turns: Int) throws -> [[UInt8]] {
        guard case .object(var root) = try JSONParser.parse(body), case .array(var messages)? = root["messages"],
            messages.count >= 3
        else { throw UsageError("the fixture has no conversation to continue") }
        // The last assistant message and the user message after it are the pattern of each new turn.
        guard let call = messages.lastIndex(where: { $0["role"]?.stringValue == "assistant" }),
            call + 1 < messages.count
        else { throw UsageError("the fixture has no assistant message followed by a user message") }
        let assistant = messages[call]
        let result = messages[call + 1]
        var bodies: [[UInt8]] = []
        for turn in 0..<turns {
            if turn > 0 {
                messages[messages.count - 1] = withCacheMarker(messages[messages.count - 1], marked: false)
                let id = "toolu_turn_\(turn)"
                messages.append(renamingToolIDs(assistant, to: id))
                messages.append(withCacheMarker(renamingToolIDs(result, to: id), marked: true))
            }
            root["messages"] = .array(messages)
            bodies.append(JSONValue.object(root).serialized)
        }
        return bodies
    }

    /// `message` with its last content block carrying `cache_control` or not.
    private static func withCacheMarker(_ message: JSONValue, marked: Bool) -> JSONValue {
        guard case .object(var object) = message, case .array(var blocks)? = object["content"],
            case .object(var last)? = blocks.last
        else { return message }
        last["cache_control"] = marked ? .object(JSONObject([("type", .string("ephemeral"))])) : nil
        blocks[blocks.count - 1] = .object(last)
        object["content"] = .array(blocks)
        return .object(object)
    }

    /// `message` with the ids of its tool calls and results set to `id`.
    private static func renamingToolIDs(_ message: JSONValue, to id: String) -> JSONValue {
        guard case .object(var object) = message, case .array(let blocks)? = object["content"] else { return message }
        object["content"] = .array(blocks.map { block in
            guard case .object(var fields) = block else { return block }
            for key in ["id", "tool_use_id"] where fields[key] != nil { fields[key] = .string(id) }
            return .object(fields)
        })
        return .object(object)
    }
}
