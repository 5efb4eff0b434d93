extension OpenAI {
    /// A chat request's tools with their JSON text and token estimate worked out once, when the list is made.
    ///
    /// Agents send the same tool definitions with every turn (Claude Code's are about 28 KB of schemas), so a list
    /// made for one request is kept by `ToolListMemo` and reused as it is by the next: its text is copied into the
    /// body instead of being written again, and its tokens are not counted again.
    public struct ToolList: Sendable, Equatable, RandomAccessCollection, ExpressibleByArrayLiteral {
        public let functions: [FunctionTool]
        /// The list as the request body carries it: `[{"type":"function","function":{…}},…]` (empty when there are no
        /// tools: the body then has no `tools` member).
        public let json: [UInt8]
        /// `TokenEstimator`'s count for the tools, as sent.
        public let estimatedTokens: Int

        public init(_ functions: [FunctionTool]) {
            self.functions = functions
            guard !functions.isEmpty else {
                // Most requests have no tools, and the body then leaves them out: no text to make.
                json = []
                estimatedTokens = 0
                return
            }
            var writer = JSONWriter(capacity: functions.reduce(2) { $0 + ($1.description?.utf8.count ?? 0) + 1024 })
            Self.write(functions, to: &writer)
            json = writer.takeBytes()
            estimatedTokens = TokenEstimator.count(functions)
        }

        public init(arrayLiteral functions: FunctionTool...) {
            self.init(functions)
        }

        public var startIndex: Int { functions.startIndex }
        public var endIndex: Int { functions.endIndex }
        public subscript(position: Int) -> FunctionTool { functions[position] }

        public static func == (lhs: ToolList, rhs: ToolList) -> Bool { lhs.functions == rhs.functions }

        private static func write(_ functions: [FunctionTool], to writer: inout JSONWriter) {
            writer.raw("[")
            for (index, tool) in functions.enumerated() {
                if index > 0 { writer.raw(",") }
                writer.raw("{\"type\":\"function\",\"function\":{\"name\":")
                writer.string(tool.name)
                if let description = tool.description {
                    writer.raw(",\"description\":")
                    writer.string(description)
                }
                writer.raw(",\"parameters\":")
                writer.value(tool.parameters)
                writer.raw("}}")
            }
            writer.raw("]")
        }
    }
}
