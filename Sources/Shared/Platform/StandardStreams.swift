#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's standard output, written unbuffered (unlike `print`): a line reaches a reading parent at once.
public enum StandardOutput {
    public static func write(_ text: String) {
        FileDescriptorWriter.writeAll(text.utf8, to: STDOUT_FILENO)
    }
}

/// The process's standard error, written unbuffered.
public enum StandardError {
    public static func write(_ text: String) {
        FileDescriptorWriter.writeAll(text.utf8, to: STDERR_FILENO)
    }
}
