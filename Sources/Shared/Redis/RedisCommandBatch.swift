import NIOCore

/// Commands encoded in RESP, ready for the wire, and how many they are: what a connection writes as is and matches
/// replies against. Built by the caller, on any thread, in one buffer (no byte array per argument on the way).
public struct RedisCommandBatch: Sendable {
    private(set) var resp: ByteBuffer
    /// How many commands the batch holds, and so how many replies it gets.
    public private(set) var count = 0

    /// `capacity`: bytes reserved at once; the default holds the admission's `EVALSHA` (two keys named by a
    /// 64-digit tenant digest) and its cache `GET`, about 400 bytes.
    public init(capacity: Int = 512) {
        resp = ByteBufferAllocator().buffer(capacity: capacity)
    }

    /// A batch of `commands`, each the command name followed by its arguments.
    init(_ commands: [[[UInt8]]]) {
        self.init(capacity: commands.reduce(0) { $0 + RESPEncoder.size(of: $1) })
        for command in commands { append(command) }
    }

    /// Adds one command: its name followed by its arguments; not empty.
    public mutating func append(_ command: [RESPArgument]) {
        appendCommand(command)
    }

    /// Adds one command given as byte arrays: its name followed by its arguments; not empty.
    public mutating func append(_ command: [[UInt8]]) {
        appendCommand(command)
    }

    private mutating func appendCommand<Argument: RESPEncodable>(_ command: [Argument]) {
        precondition(!command.isEmpty, "a Redis command has a name")
        RESPEncoder.write(command, into: &resp)
        count += 1
    }
}
