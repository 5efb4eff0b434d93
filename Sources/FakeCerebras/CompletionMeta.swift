import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Per-response identity and accounting shared by stream chunks and non-stream bodies.
struct CompletionMeta {
    var id: String
    var created: Int
    var model: String
    var usage: Usage

    init(model: String, usage: Usage) {
        // Random 64 bits are plenty to keep ids distinct across a benchmark run.
        let hex = String(UInt64.random(in: .min ... .max), radix: 16)
        self.id = "chatcmpl-" + String(repeating: "0", count: 16 - hex.count) + hex
        self.created = time(nil)
        self.model = model
        self.usage = usage
    }
}

/// Token accounting as Cerebras reports it, plus its `time_info` block.
struct Usage {
    var promptTokens: Int
    var completionTokens: Int
    var cachedTokens: Int

    /// `"usage":{…},"time_info":{…}`, ready to splice into a chunk or completion object.
    func jsonFields(created: Int) -> String {
        """
        "usage":{"prompt_tokens":\(promptTokens),"completion_tokens":\(completionTokens),\
        "total_tokens":\(promptTokens + completionTokens),\
        "prompt_tokens_details":{"cached_tokens":\(cachedTokens)}},\
        "time_info":{"queue_time":0.0001,"prompt_time":0.001,"completion_time":0.01,\
        "total_time":0.012,"created":\(created)}
        """
    }
}
