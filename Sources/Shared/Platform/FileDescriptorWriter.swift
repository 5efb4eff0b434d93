#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Unbuffered writes to a file descriptor: each call reaches the kernel before it returns.
public enum FileDescriptorWriter {
    /// Writes every byte, retrying partial writes and EINTR; gives up silently on any other error (a closed
    /// stderr must not bring the process down).
    public static func writeAll(_ bytes: some Collection<UInt8>, to descriptor: Int32) {
        let contiguous: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            writeAll(UnsafeRawBufferPointer(buffer), to: descriptor)
        }
        if contiguous == nil { Array(bytes).withUnsafeBytes { writeAll($0, to: descriptor) } }
    }

    private static func writeAll(_ buffer: UnsafeRawBufferPointer, to descriptor: Int32) {
        guard let base = buffer.baseAddress else { return }
        var offset = 0
        while offset < buffer.count {
            let written = write(descriptor, base + offset, buffer.count - offset)
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { return }
            offset += written
        }
    }
}
