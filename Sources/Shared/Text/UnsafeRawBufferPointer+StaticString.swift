extension UnsafeRawBufferPointer {
    /// The bytes of a string literal, which live as long as the program.
    @inlinable
    public init(literal: StaticString) {
        self.init(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
    }
}
