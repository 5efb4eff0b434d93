import Glibc

/// The bytes a stream's text chunks share around their one string, kept to decode the next such chunk without
/// scanning it.
///
/// A stream's chunks of text are the same bytes but for the token: `{"id":…,"choices":[{"index":0,"delta":
/// {"content":"`, the token, then `"},"finish_reason":null}]}`; so are its chunks of thinking and of one tool call's
/// arguments. Once the scanner has read a whole chunk and found exactly one string in the members it reads (the
/// text, the thinking or the arguments), the bytes before that string and after it are kept with the chunk they
/// decoded to. A next chunk made of the same bytes around another string decodes to that chunk with the new string
/// in its place: one comparison of each side and the string's own parse, instead of a scan of every member.
///
/// That is exactly what scanning it gives. The scanner reads a document from its first byte on, so the same bytes
/// before the string bring it to the same point, reading a string where the kept one was read; the value goes to
/// the same place and nothing the scanner decides depends on it; the same bytes after it then parse as they did.
/// A string that does not parse, or that ends anywhere but where the kept bytes after it start, leaves the chunk to
/// the scan. Owned by one stream, inside `StreamChunkScanner.Memo`.
struct StreamChunkFrame {
    /// Where a chunk's one string goes.
    enum Slot {
        case content
        case reasoning
        /// The arguments of the chunk's one tool call.
        case toolArguments
    }

    /// Chunks longer than this around their string are not kept (a stream keeps at most this much).
    static let maxBytes = 1024

    /// The bytes before the string, then those after it (one array: one allocation a stream).
    private var kept: [UInt8] = []
    /// Where the string stood: the count of bytes before it.
    private var stringStart = 0
    /// Nil until a chunk has been kept.
    private var slot: Slot?
    /// The chunk the kept bytes decoded to, its string left out.
    private var rest = OpenAI.StreamChunk()
    /// What `rest` is. When it is nothing but an empty delta (nearly every text or thinking chunk), or a delta with
    /// nothing but one tool call's index (nearly every chunk of a call's arguments after its first), the chunk is
    /// made afresh around its string instead of copied from `rest`, whose tool call list the copy would have to copy
    /// again to change.
    private var restShape = RestShape.other

    private enum RestShape {
        case emptyDelta
        case loneToolCall(index: Int)
        case other
    }

    /// The chunk, when `bytes` are the kept bytes around one string; nil otherwise.
    func decode(_ bytes: UnsafeBufferPointer<UInt8>) -> OpenAI.StreamChunk? {
        guard let slot, let base = bytes.baseAddress,
              // The shortest string, `""`, between the kept bytes.
              bytes.count >= kept.count + 2, base[stringStart] == UInt8(ascii: "\"")
        else { return nil }
        let string = kept.withUnsafeBufferPointer { kept -> String? in
            guard let keptBase = kept.baseAddress, memcmp(base, keptBase, stringStart) == 0 else { return nil }
            var parser = JSONParser(buffer: bytes, maxDepth: JSONParser.defaultMaxDepth)
            parser.position = stringStart
            let afterCount = kept.count - stringStart
            guard let string = try? parser.parseString(), bytes.count - parser.position == afterCount,
                  memcmp(base + parser.position, keptBase + stringStart, afterCount) == 0
            else { return nil }
            return string
        }
        return string.map { chunk($0, in: slot) }
    }

    /// The chunk with `string` in its slot: made afresh when there is nothing else to it, else a copy of `rest`.
    private func chunk(_ string: String, in slot: Slot) -> OpenAI.StreamChunk {
        switch (restShape, slot) {
        case (.emptyDelta, .content): return OpenAI.StreamChunk(delta: OpenAI.Delta(content: string))
        case (.emptyDelta, .reasoning): return OpenAI.StreamChunk(delta: OpenAI.Delta(reasoning: string))
        case (.loneToolCall(let index), .toolArguments):
            let call = OpenAI.ToolCallDelta(index: index, arguments: string)
            return OpenAI.StreamChunk(delta: OpenAI.Delta(toolCalls: [call]))
        default: break
        }
        var chunk = rest
        switch slot {
        case .content: chunk.delta?.content = string
        case .reasoning: chunk.delta?.reasoning = string
        case .toolArguments: chunk.delta?.toolCalls[0].arguments = string
        }
        return chunk
    }

    /// `rest`'s shape for a chunk whose string goes to `slot`.
    private static func shape(of rest: OpenAI.StreamChunk, slot: Slot) -> RestShape {
        guard slot == .toolArguments else {
            return rest == OpenAI.StreamChunk(delta: OpenAI.Delta()) ? .emptyDelta : .other
        }
        guard let index = rest.delta?.toolCalls.first?.index,
              rest == OpenAI.StreamChunk(delta: OpenAI.Delta(toolCalls: [OpenAI.ToolCallDelta(index: index)]))
        else { return .other }
        return .loneToolCall(index: index)
    }

    /// Keeps `bytes`, just decoded to `decoded` by a scan that read one string (at `string`, quotes included) into
    /// `slot`, for the chunks after it. A chunk too long to keep, or without the slot, leaves the frame as it was.
    mutating func keep(_ bytes: UnsafeBufferPointer<UInt8>, string: Range<Int>, slot: Slot,
                       decoded: OpenAI.StreamChunk) {
        guard bytes.count - string.count <= Self.maxBytes, decoded.delta != nil else { return }
        var rest = decoded
        switch slot {
        case .content: rest.delta?.content = nil
        case .reasoning: rest.delta?.reasoning = nil
        case .toolArguments:
            guard rest.delta?.toolCalls.count == 1 else { return }
            rest.delta?.toolCalls[0].arguments = nil
        }
        self.rest = rest
        restShape = Self.shape(of: rest, slot: slot)
        // The array keeps its capacity: a stream whose chunks never repeat replaces it without allocating.
        kept.removeAll(keepingCapacity: true)
        kept.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[..<string.lowerBound]))
        kept.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[string.upperBound...]))
        stringStart = string.lowerBound
        self.slot = slot
    }
}
