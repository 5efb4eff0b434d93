import Shared

/// An upstream request's body, in memory it owns for as long as any transfer sending it may run.
///
/// curl sends it from where it lies (`CURLOPT_POSTFIELDS`) instead of copying it first (`CURLOPT_COPYPOSTFIELDS`),
/// which a Swift array could not allow: the address an array lends is only valid inside the closure that borrows it.
/// Claude Code's requests are about 80 KB, so the copy (and its allocation) was a few per cent of a request's work.
/// Attempts of one request share it; it is never written after `init`.
final class UpstreamBody: Sendable {
    /// The body's bytes; valid while this object is alive.
    nonisolated(unsafe) let bytes: UnsafeRawBufferPointer

    /// `byteCount` bytes, which `write` fills and returns the count of.
    private init(byteCount: Int, writingWith write: (UnsafeMutableRawBufferPointer) -> Int) {
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: Swift.max(byteCount, 1), alignment: 1)
        let written = write(UnsafeMutableRawBufferPointer(rebasing: storage[..<byteCount]))
        precondition(written == byteCount, "an upstream body written short")
        bytes = UnsafeRawBufferPointer(rebasing: storage[..<byteCount])
    }

    /// The pieces joined, in order.
    convenience init(joining pieces: [UnsafeRawBufferPointer]) {
        self.init(byteCount: pieces.reduce(0) { $0 + $1.count }) { $0.copyJoined(pieces) }
    }

    convenience init(_ bytes: [UInt8]) {
        self.init(byteCount: bytes.count) { storage in bytes.withUnsafeBytes { storage.copyJoined([$0]) } }
    }

    deinit { bytes.deallocate() }

    /// No body yet (an exchange's before its request is translated).
    static let empty = UpstreamBody([])

    var count: Int { bytes.count }
}
