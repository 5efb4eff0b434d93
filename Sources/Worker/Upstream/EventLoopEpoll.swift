import Glibc
import NIOCore
import NIOPosix

/// Finds the epoll set an NIO event loop waits on, so that the upstream client can nest curl's set in it
/// (`ReadinessSet.nest(into:)`) and be driven by the loop's thread.
///
/// NIO has no API to watch a foreign descriptor, nor to name its selector. The loop's set is found by asking:
/// a pipe is registered as a channel on the loop, and the one epoll descriptor of this process whose entries
/// (`/proc/self/fdinfo`, `tfd:` lines: descriptor number and inode) list that pipe is the loop's. NIO skips events
/// of descriptors it has no channel for, so an entry added there wakes the loop and is otherwise ignored by it.
enum EventLoopEpoll {
    static func descriptor(of loop: EventLoop) -> EventLoopFuture<CInt> {
        var ends: [CInt] = [-1, -1]
        guard pipe(&ends) == 0 else {
            return loop.makeFailedFuture(EventLoopEpollNotFound(reason: "pipe failed: errno \(errno)"))
        }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        let (probe, writeEnd) = (ends[0], ends[1])
        return NIOPipeBootstrap(group: loop).takingOwnershipOfDescriptor(input: probe)
            .flatMapError { error in
                close(probe)
                return loop.makeFailedFuture(error)
            }
            .flatMap { channel in
                var status = stat()
                let found = fstat(probe, &status) == 0
                    ? Self.epollDescriptor(watching: probe, inode: UInt64(status.st_ino)) : nil
                return channel.close().flatMapThrowing { _ in
                    guard let found else {
                        throw EventLoopEpollNotFound(
                            reason: "not exactly one epoll set of this process lists the probe pipe")
                    }
                    return found
                }
            }
            .always { _ in close(writeEnd) }
    }

    /// The one epoll descriptor of this process whose set holds the file `target` (descriptor number and inode,
    /// so that a stale entry of another set under the same number is not taken for it), read from
    /// `/proc/self/fdinfo`; nil when there is none or more than one.
    static func epollDescriptor(watching target: CInt, inode: UInt64) -> CInt? {
        guard let directory = opendir("/proc/self/fd") else { return nil }
        defer { closedir(directory) }
        var found: [CInt] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let descriptor = CInt(name), isEpoll(descriptor) else { continue }
            if entries(ofEpoll: descriptor).contains(where: { $0.descriptor == target && $0.inode == inode }) {
                found.append(descriptor)
            }
        }
        return found.count == 1 ? found[0] : nil
    }

    private static func isEpoll(_ descriptor: CInt) -> Bool {
        var target = [CChar](repeating: 0, count: 64)
        let length = readlink("/proc/self/fd/\(descriptor)", &target, target.count - 1)
        guard length > 0 else { return false }
        return String(decoding: target.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            == "anon_inode:[eventpoll]"
    }

    /// The entries of an epoll set, from its fdinfo lines `tfd:  <fd> events: … data: … pos:0 ino:<hex> sdev:…`.
    static func entries(ofEpoll descriptor: CInt) -> [(descriptor: CInt, inode: UInt64)] {
        guard let file = fopen("/proc/self/fdinfo/\(descriptor)", "r") else { return [] }
        defer { fclose(file) }
        var entries: [(descriptor: CInt, inode: UInt64)] = []
        var line = [CChar](repeating: 0, count: 512)
        while fgets(&line, CInt(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard text.hasPrefix("tfd:") else { continue }
            let fields = text.dropFirst(4).split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
            guard let first = fields.first, let watched = CInt(first),
                  let inodeField = fields.first(where: { $0.hasPrefix("ino:") }),
                  let inode = UInt64(inodeField.dropFirst(4), radix: 16)
            else { continue }
            entries.append((watched, inode))
        }
        return entries
    }
}

/// The event loop's epoll set could not be identified.
struct EventLoopEpollNotFound: Error, CustomStringConvertible {
    let reason: String
    var description: String { "cannot find the event loop's epoll set: \(reason)" }
}
