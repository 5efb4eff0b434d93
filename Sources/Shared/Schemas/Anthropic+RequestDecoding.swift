extension Anthropic.MessagesRequest {
    /// The most stop sequences Cerebras accepts.
    public static let maxStopSequences = 4

    /// Validates a decoded `POST /v1/messages` body. Unknown fields are ignored.
    ///
    /// - Parameters:
    ///   - knownTools: the body's `tools` decoded before (`ToolListMemo`); nil decodes the `tools` member.
    ///   - knownSystem: the body's `system` texts decoded before (`SystemPromptMemo`); nil decodes the member.
    ///   - knownMessageCount: how many leading elements of the body's `messages` a `ConversationMemo` knows and
    ///     the parser left out of `json` (at least one of them a user or assistant message).
    public init(json: JSONValue, knownTools: (tools: [Anthropic.Tool], dropped: [String])? = nil,
                knownSystem: [String]? = nil, knownMessageCount: Int = 0) throws {
        let root = try FieldReader(json, path: FieldPath())
        model = try root.requiredString("model")
        guard !model.isEmpty else { throw FieldPath(["model"]).error("must not be empty") }

        guard let maxTokens = try root.int("max_tokens") else { throw FieldPath(["max_tokens"]).error("Field required") }
        guard maxTokens >= 1 else { throw FieldPath(["max_tokens"]).error("must be at least 1") }
        self.maxTokens = maxTokens

        system = try knownSystem ?? Self.decodeSystem(root.optional("system"), path: FieldPath(["system"]))

        guard let rawMessages = try root.array("messages") else { throw FieldPath(["messages"]).error("Field required") }
        var messages: [Anthropic.Message] = []
        messages.reserveCapacity(rawMessages.count)
        var hasConversation = knownMessageCount > 0
        for (offset, raw) in rawMessages.enumerated() {
            let path = FieldPath.messages.appending(knownMessageCount + offset)
            let message = try Anthropic.Message(json: raw, path: path)
            if message.role != .system { hasConversation = true }
            messages.append(message)
        }
        guard hasConversation else { throw FieldPath(["messages"]).error("at least one message is required") }
        self.messages = messages
        self.knownMessageCount = knownMessageCount

        if let rawStops = try root.array("stop_sequences") {
            var stops: [String] = []
            for (index, raw) in rawStops.enumerated() {
                guard case .string(let stop) = raw else {
                    throw FieldPath(["stop_sequences"]).appending(index).error("expected a string, got \(raw.typeName)")
                }
                stops.append(stop)
            }
            guard stops.count <= Self.maxStopSequences else {
                throw FieldPath(["stop_sequences"]).error(
                    "at most \(Self.maxStopSequences) stop sequences are supported by this backend, got \(stops.count)")
            }
            stopSequences = stops
        } else {
            stopSequences = []
        }

        stream = try root.bool("stream") ?? false
        temperature = try root.double("temperature")
        if let temperature, !(0...1).contains(temperature) {
            throw FieldPath(["temperature"]).error("must be between 0 and 1, got \(temperature)")
        }
        topP = try root.double("top_p")
        if let topP, !(0...1).contains(topP) {
            throw FieldPath(["top_p"]).error("must be between 0 and 1, got \(topP)")
        }
        _ = try root.int("top_k")

        (tools, droppedServerTools) = try knownTools ?? Self.decodeTools(root.array("tools"))

        toolChoice = try root.nested("tool_choice").map(Anthropic.ToolChoice.init(reader:))
        thinking = try root.nested("thinking").map(Anthropic.Thinking.init(reader:))
        effort = try root.nested("output_config")?.string("effort")
        metadataUserID = try root.nested("metadata")?.string("user_id")
    }

    /// The custom tools of a `tools` member, and the types of the server tools left out.
    private static func decodeTools(_ rawTools: [JSONValue]?) throws -> (tools: [Anthropic.Tool], dropped: [String]) {
        var tools: [Anthropic.Tool] = []
        var dropped: [String] = []
        for (index, raw) in (rawTools ?? []).enumerated() {
            let path = FieldPath(["tools"]).appending(index)
            let reader = try FieldReader(raw, path: path)
            let type = try reader.string("type") ?? "custom"
            if type != "custom" {
                // Server tools (web_search_20250305, computer_20250124, bash_…, text_editor_…) run on
                // Anthropic's side; the backend cannot run them.
                dropped.append(type)
                continue
            }
            tools.append(try Anthropic.Tool(reader: reader))
        }
        return (tools, dropped)
    }

    private static func decodeSystem(_ value: JSONValue?, path: FieldPath) throws -> [String] {
        guard let value else { return [] }
        switch value {
        case .string(let text):
            return text.isEmpty ? [] : [text]
        case .array(let blocks):
            var texts: [String] = []
            for (index, raw) in blocks.enumerated() {
                let reader = try FieldReader(raw, path: path.appending(index))
                let type = try reader.requiredString("type")
                guard type == "text" else {
                    throw path.appending(index).error("system blocks must be of type \"text\", got \"\(type)\"")
                }
                texts.append(try reader.requiredString("text"))
            }
            return texts
        default:
            throw path.error("expected a string or an array of text blocks, got \(value.typeName)")
        }
    }
}

extension Anthropic.Message {
    init(json: JSONValue, path: FieldPath) throws {
        let reader = try FieldReader(json, path: path)
        let roleText = try reader.requiredString("role")
        guard let role = Anthropic.Role(rawValue: roleText) else {
            throw path.appending("role").error("expected \"user\" or \"assistant\", got \"\(roleText)\"")
        }
        self.role = role
        content = try Anthropic.ContentBlock.decodeContent(reader.required("content"), path: path.appending("content"))
    }
}

extension Anthropic.ContentBlock {
    /// Block types that only ever appear as history of Anthropic-side server tools.
    static let tolerableHistoryTypes: Set<String> = [
        "server_tool_use", "web_search_tool_result", "web_fetch_tool_result", "code_execution_tool_result",
        "bash_code_execution_tool_result", "text_editor_code_execution_tool_result", "mcp_tool_use",
        "mcp_tool_result", "container_upload", "tool_search_tool_result",
    ]

    /// Content given as a string or as a list of blocks.
    static func decodeContent(_ value: JSONValue, path: FieldPath) throws -> [Anthropic.ContentBlock] {
        switch value {
        case .string(let text):
            return [.text(text)]
        case .array(let blocks):
            return try blocks.enumerated().map { index, raw in
                try Anthropic.ContentBlock(json: raw, path: path.appending(index))
            }
        default:
            throw path.error("expected a string or an array of content blocks, got \(value.typeName)")
        }
    }

    init(json: JSONValue, path: FieldPath) throws {
        let reader = try FieldReader(json, path: path)
        let type = try reader.requiredString("type")
        switch type {
        case "text":
            self = .text(try reader.requiredString("text"))
        case "image":
            self = .image(try Anthropic.MediaSource(reader: reader.nested("source"), path: path.appending("source")))
        case "document":
            self = .document(try Anthropic.Document(reader: reader))
        case "tool_use":
            let input = reader.optional("input") ?? .object(JSONObject())
            guard case .object = input else {
                throw path.appending("input").error("expected an object, got \(input.typeName)")
            }
            self = .toolUse(id: try reader.requiredString("id"), name: try reader.requiredString("name"), input: input)
        case "tool_result":
            let content: [Anthropic.ContentBlock]
            if let raw = reader.optional("content") {
                content = try Self.decodeContent(raw, path: path.appending("content"))
            } else {
                content = []
            }
            self = .toolResult(Anthropic.ToolResult(
                toolUseID: try reader.requiredString("tool_use_id"), content: content,
                isError: try reader.bool("is_error") ?? false))
        case "thinking":
            self = .thinking(try reader.string("thinking") ?? "")
        case "redacted_thinking":
            self = .redactedThinking
        case "search_result":
            // A client-supplied search result: its text content is what a text model can use.
            let title = try reader.string("title") ?? ""
            let source = try reader.string("source") ?? ""
            let inner = try reader.optional("content").map { try Self.decodeContent($0, path: path.appending("content")) }
            let body = (inner ?? []).compactMap { block -> String? in
                if case .text(let text) = block { return text }
                return nil
            }
            self = .text(([title, source] + body).filter { !$0.isEmpty }.joined(separator: "\n"))
        default:
            guard Self.tolerableHistoryTypes.contains(type) else {
                throw path.error("unknown block type \"\(type)\"")
            }
            self = .unsupportedHistory(type: type)
        }
    }
}

extension Anthropic.MediaSource {
    init(reader: FieldReader?, path: FieldPath) throws {
        guard let reader else { throw path.error("Field required") }
        let type = try reader.requiredString("type")
        switch type {
        case "base64":
            self = .base64(mediaType: try reader.requiredString("media_type"), data: try reader.requiredString("data"))
        case "url":
            self = .url(try reader.requiredString("url"))
        default:
            throw path.appending("type").error("unsupported source type \"\(type)\" (expected \"base64\" or \"url\")")
        }
    }
}

extension Anthropic.Document {
    init(reader: FieldReader) throws {
        let path = reader.path.appending("source")
        guard let source = try reader.nested("source") else { throw path.error("Field required") }
        title = try reader.string("title")
        switch try source.requiredString("type") {
        case "text":
            self.source = .text(try source.requiredString("data"))
        case "content":
            let blocks = try Anthropic.ContentBlock.decodeContent(source.required("content"), path: path.appending("content"))
            self.source = .text(blocks.compactMap { block -> String? in
                if case .text(let text) = block { return text }
                return nil
            }.joined(separator: "\n"))
        default:
            self.source = .media(try Anthropic.MediaSource(reader: source, path: path))
        }
    }
}

extension Anthropic.Tool {
    init(reader: FieldReader) throws {
        name = try reader.requiredString("name")
        guard !name.isEmpty else { throw reader.path.appending("name").error("must not be empty") }
        description = try reader.string("description")
        let schema = reader.optional("input_schema") ?? .object(JSONObject([("type", .string("object"))]))
        guard case .object = schema else {
            throw reader.path.appending("input_schema").error("expected an object, got \(schema.typeName)")
        }
        inputSchema = schema
    }
}

extension Anthropic.ToolChoice {
    init(reader: FieldReader) throws {
        let disableParallel = try reader.bool("disable_parallel_tool_use") ?? false
        let type = try reader.requiredString("type")
        switch type {
        case "auto": self = .auto(disableParallel: disableParallel)
        case "any": self = .any(disableParallel: disableParallel)
        case "tool": self = .tool(name: try reader.requiredString("name"), disableParallel: disableParallel)
        case "none": self = .none
        default:
            throw reader.path.appending("type").error(
                "expected \"auto\", \"any\", \"tool\" or \"none\", got \"\(type)\"")
        }
    }
}

extension Anthropic.Thinking {
    init(reader: FieldReader) throws {
        let type = try reader.requiredString("type")
        switch type {
        case "enabled": self = .enabled(budgetTokens: try reader.int("budget_tokens"))
        case "disabled": self = .disabled
        case "adaptive": self = .adaptive
        default:
            throw reader.path.appending("type").error("expected \"enabled\", \"disabled\" or \"adaptive\", got \"\(type)\"")
        }
    }
}
