import CCurl

/// OpenSSL's read-ahead on the upstream's TLS connections, and the reads it then needs curl to make.
///
/// Without read-ahead OpenSSL reads a TLS record from the socket in two `recv` calls, its 5-byte header and then its
/// body, and curl takes one record per wake-up of the socket: a kept-alive request over TLS made 9.1 `recvfrom`
/// calls where one in clear makes 1 (BENCHMARKS.md, "Thirty-second round"). With it, one `recv` takes every record
/// the socket holds. libcurl 7.88, though, asks `SSL_pending` whether to read on, which counts only a record already
/// decrypted: the records read ahead would wait in OpenSSL's buffer with the socket empty, and no wake-up would come
/// for them. OpenSSL therefore notes every connection that reads a record (see CCurl.h), whoever made curl read it:
/// a ready socket, curl's timer, a resumed transfer. After each pass into curl, `drain` has curl read again each of
/// them that still holds input, as if its socket were ready, until a round reads no record: what is left is the rest
/// of a record still on its way (the socket turns ready when it comes), or input of a paused transfer (curl reads it
/// when the transfer is resumed, and it is noted then). A round reads about one record per connection, and a pass
/// drains at most `maxRoundsPerPass` rounds, so that a connection whose upstream writes as fast as curl reads does not
/// keep the loop from its other work: the connections still reading stay noted, and the client runs another pass soon.
///
/// Only for HTTP/1.1 connections (`UpstreamConnectionSettings.tlsReadAhead`): one transfer at a time uses a socket,
/// and curl's socket callback says which (`watched`, `unwatched`). A connection is known by its OpenSSL object,
/// learnt from that transfer's easy handle, until its socket closes (`closing`). Used by one thread, the client's
/// loop.
final class TLSReadAhead {
    /// Whether libcurl's TLS library allows it: OpenSSL, whose libssl is loaded (see CCurl.h).
    static var isAvailable: Bool { cg_tls_read_ahead_available() == 1 }

    private let multi: UnsafeMutableRawPointer
    /// What is known of one socket.
    private struct Socket {
        /// The easy handle of the transfer curl watches the socket for.
        var handle: UnsafeMutableRawPointer?
        /// The socket's TLS connection (its OpenSSL object), once learnt.
        var session: UnsafeMutableRawPointer?
    }

    /// By descriptor: a plain array, read for every socket curl reads.
    private var sockets: [Socket] = []
    /// The socket of each known TLS connection.
    private var socketBySession: [UnsafeMutableRawPointer: Int32] = [:]
    /// Where `drain` takes the connections that read a record.
    private let reading = UnsafeMutableBufferPointer<UnsafeMutableRawPointer?>.allocate(
        capacity: Int(CG_TLS_READING_CAPACITY))
    private static let maxRoundsPerPass = 64
    /// Reads `drain` has had curl make, and drains that stopped at `maxRoundsPerPass`; for tests.
    private(set) var drainingReads = 0
    private(set) var drainsCutShort = 0

    /// Nil when read-ahead is not available.
    init?(multi: UnsafeMutableRawPointer) {
        guard Self.isAvailable else { return nil }
        self.multi = multi
    }

    deinit { reading.deallocate() }

    /// Makes the TLS connections `easy` opens read ahead.
    func prepare(_ easy: UnsafeMutableRawPointer) {
        _ = cg_easy_set_tls_read_ahead(easy)
    }

    /// curl watches `fd` for the transfer on `easy` (from curl's socket callback).
    func watched(_ fd: Int32, by easy: UnsafeMutableRawPointer) {
        guard fd >= 0 else { return }
        if Int(fd) >= sockets.count {
            sockets.append(contentsOf: repeatElement(Socket(), count: Int(fd) + 1 - sockets.count))
        }
        sockets[Int(fd)].handle = easy
        learnSession(of: fd)
    }

    /// curl no longer watches `fd`: its transfer is over or paused, or the connection is closing.
    func unwatched(_ fd: Int32) {
        guard fd >= 0, Int(fd) < sockets.count else { return }
        sockets[Int(fd)].handle = nil
    }

    /// `fd` is about to be closed, with its TLS connection.
    func closing(_ fd: Int32) {
        guard fd >= 0, Int(fd) < sockets.count else { return }
        if let session = sockets[Int(fd)].session { socketBySession[session] = nil }
        sockets[Int(fd)] = Socket()
    }

    /// curl has read the ready socket `fd`: the connection is known from now on, if it was not.
    func didRead(_ fd: Int32) {
        guard fd >= 0, Int(fd) < sockets.count, sockets[Int(fd)].session == nil else { return }
        learnSession(of: fd)
    }

    /// After a pass into curl: has curl read again every connection that read a record and holds more input.
    /// Returns true when it stopped at `maxRoundsPerPass` rounds: the caller must then make another pass soon.
    func drain() -> Bool {
        for _ in 0..<Self.maxRoundsPerPass {
            let count = cg_tls_take_reading_sessions(UnsafeMutableRawPointer(reading.baseAddress!)
                .assumingMemoryBound(to: UnsafeMutableRawPointer?.self))
            if count == 0 { return false }
            var readAgain = false
            if count < 0 {
                // More connections read than were noted: every known one is looked at.
                for (session, fd) in Array(socketBySession) where read(fd, session) { readAgain = true }
            } else {
                for index in 0..<Int(count) {
                    guard let session = reading[index], let fd = socketBySession[session] else { continue }
                    if read(fd, session) { readAgain = true }
                }
            }
            if !readAgain { return false }
        }
        drainsCutShort += 1
        return true
    }

    /// Has curl read `fd` when its connection, still open and watched for a transfer, holds input.
    private func read(_ fd: Int32, _ session: UnsafeMutableRawPointer) -> Bool {
        guard socketBySession[session] == fd, sockets[Int(fd)].handle != nil,
              cg_tls_has_buffered_input(session) == 1 else { return false }
        var running: Int32 = 0
        cg_multi_socket_action(multi, fd, CURL_CSELECT_IN, &running)
        drainingReads += 1
        return true
    }

    private func learnSession(of fd: Int32) {
        guard sockets[Int(fd)].session == nil, let easy = sockets[Int(fd)].handle,
              let session = cg_easy_tls_session(easy), socketBySession[session] == nil else { return }
        sockets[Int(fd)].session = session
        socketBySession[session] = fd
    }
}
