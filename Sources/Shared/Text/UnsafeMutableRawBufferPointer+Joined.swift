extension UnsafeMutableRawBufferPointer {
    /// Copies the pieces one after another from the start; returns how many bytes that was. The buffer must hold them.
    public func copyJoined(_ pieces: [UnsafeRawBufferPointer]) -> Int {
        var written = 0
        for piece in pieces where !piece.isEmpty {
            precondition(piece.count <= count - written, "joined pieces larger than their buffer")
            UnsafeMutableRawBufferPointer(rebasing: self[written...]).copyMemory(from: piece)
            written += piece.count
        }
        return written
    }
}
