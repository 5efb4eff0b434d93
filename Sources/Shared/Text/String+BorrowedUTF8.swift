extension String {
    /// Calls `body` with the string's UTF-8 bytes, borrowed where they are (a native string's own storage, a small
    /// string's bytes copied to the stack). `withUTF8` needs a mutable string, so calling it on a parameter costs a
    /// copy of the string: a retain and a release on every call of code that runs per key or per string.
    @inlinable @inline(__always)
    public func withBorrowedUTF8<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        if let result = try utf8.withContiguousStorageIfAvailable(body) { return result }
        var copy = self
        return try copy.withUTF8(body)
    }
}
