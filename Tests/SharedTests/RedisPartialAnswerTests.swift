import Foundation
import Glibc
import Shared
import TestSupport
import XCTest

/// A connection that breaks after answering part of a pipeline: the pipeline fails, and the replies it did get do
/// not leak into the next connection's answers.
final class RedisPartialAnswerTests: XCTestCase {
    func testRepliesReadBeforeABreakAreNotHandedToTheNextPipeline() throws {
        let server = try ScriptedRedisServer()
        defer { server.stop() }
        let client = RedisClient.forTesting(try RedisURL(parsing: "redis://127.0.0.1:\(server.port)/0"))
        defer { client.shutdown() }

        // The first connection answers the first of two commands, then closes.
        let broken = WaitForCallback.result { client.pipeline([[Array("FIRST".utf8)], [Array("SECOND".utf8)]],
                                                              completion: $0) }
        guard case .failure(.unavailable)? = broken else {
            return XCTFail("a pipeline cut short must fail as unavailable, got \(String(describing: broken))")
        }

        // The client reconnects; the next connection echoes every command's name.
        XCTAssertTrue(WaitForCallback.until(timeout: 15) { client.isConnected }, "client did not reconnect")
        let answered = WaitForCallback.result { client.pipeline([[Array("THIRD".utf8)], [Array("FOURTH".utf8)]],
                                                                completion: $0) }
        XCTAssertEqual(answered, .success([.status("THIRD"), .status("FOURTH")]))
    }
}

/// A RESP server on loopback with a script: its first connection answers one command and closes; every later one
/// answers each command with its name as a status reply.
private final class ScriptedRedisServer: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let thread: Thread

    init() throws {
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard let port = Loopback.listen(listener, backlog: 8) else { throw POSIXError(.EADDRNOTAVAIL) }
        self.port = port
        let listener = self.listener
        thread = Thread {
            var connection = 0
            while true {
                let client = accept(listener, nil, nil)
                guard client >= 0 else { return }
                connection += 1
                Self.serve(client, answeringOnlyOne: connection == 1)
                close(client)
            }
        }
        thread.start()
    }

    /// Closing the listener ends the accept loop.
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private static func serve(_ client: Int32, answeringOnlyOne: Bool) {
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(client, $0.baseAddress, $0.count) }
            guard count > 0 else { return }
            pending.append(contentsOf: chunk[..<count])
            var answer: [UInt8] = []
            while let name = takeCommandName(from: &pending) {
                answer += Array("+\(name)\r\n".utf8)
                if answeringOnlyOne { break }
            }
            _ = answer.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
            if answeringOnlyOne, !answer.isEmpty { return }
        }
    }

    /// Removes one complete command (`*N`, then N bulk strings) from the front of `buffer` and returns its first
    /// argument; nil while the command is incomplete.
    private static func takeCommandName(from buffer: inout [UInt8]) -> String? {
        var index = 0
        func line() -> String? {
            guard let end = buffer[index...].firstIndex(of: UInt8(ascii: "\r")), end + 1 < buffer.count else {
                return nil
            }
            defer { index = end + 2 }
            return String(decoding: buffer[index..<end], as: UTF8.self)
        }
        guard let header = line(), header.first == "*", let arguments = Int(header.dropFirst()) else { return nil }
        var name: String?
        for _ in 0..<arguments {
            guard let length = line().flatMap({ Int($0.dropFirst()) }), index + length + 2 <= buffer.count else {
                return nil
            }
            if name == nil { name = String(decoding: buffer[index..<index + length], as: UTF8.self) }
            index += length + 2
        }
        buffer.removeFirst(index)
        return name
    }
}
