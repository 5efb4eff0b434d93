import Foundation
import NIOCore

/// The parts of a `/v1/chat/completions` body the fake cares about.
struct ChatRequest {
    var model: String
    var stream: Bool
    var includeUsage: Bool
    /// Text of the last message: its string content, or its text parts concatenated.
    var lastMessageText: String
    /// UTF-8 bytes of every string inside `messages`; a stand-in for prompt size.
    var messageBytes: Int

    enum ParseError: Error {
        case notJSONObject
    }

    /// Parses `body`; JSONSerialization is fine here (one parse per request, never per chunk).
    init(body: ByteBuffer) throws {
        let object = try JSONSerialization.jsonObject(with: Data(body.readableBytesView))
        guard let root = object as? [String: Any] else { throw ParseError.notJSONObject }
        self.model = root["model"] as? String ?? "unknown-model"
        self.stream = root["stream"] as? Bool ?? false
        let streamOptions = root["stream_options"] as? [String: Any]
        self.includeUsage = streamOptions?["include_usage"] as? Bool ?? false
        let messages = root["messages"] as? [Any] ?? []
        self.lastMessageText = (messages.last as? [String: Any]).map(Self.text(of:)) ?? ""
        self.messageBytes = Self.stringBytes(in: messages)
    }

    /// Prompt tokens to report: roughly one token per four bytes of message text, at least 1.
    var approximatePromptTokens: Int {
        max(1, messageBytes / 4)
    }

    private static func text(of message: [String: Any]) -> String {
        switch message["content"] {
        case let s as String:
            return s
        case let parts as [Any]:
            return parts.compactMap { ($0 as? [String: Any])?["text"] as? String }.joined()
        default:
            return ""
        }
    }

    private static func stringBytes(in value: Any) -> Int {
        switch value {
        case let s as String: return s.utf8.count
        case let a as [Any]: return a.reduce(0) { $0 + stringBytes(in: $1) }
        case let d as [String: Any]: return d.values.reduce(0) { $0 + stringBytes(in: $1) }
        default: return 0
        }
    }
}
