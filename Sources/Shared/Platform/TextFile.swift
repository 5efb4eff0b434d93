#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Small files read whole with POSIX calls: configuration, keys, `/sys` values.
public enum TextFile {
    /// Whether anything exists at `path` (following symbolic links), like `FileManager.fileExists(atPath:)`: a
    /// path `stat` cannot reach (missing, a dangling link, a directory without search permission) does not exist.
    public static func exists(atPath path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0
    }

    /// The file's contents as UTF-8 text without a leading byte order mark (as `String(contentsOfFile:encoding:)`
    /// gave it); nil when it cannot be opened or read (a directory, no permission) or is not valid UTF-8.
    public static func contents(atPath path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[..<count])
        }
        let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]
        let text = bytes.starts(with: byteOrderMark) ? bytes.dropFirst(byteOrderMark.count) : bytes[...]
        return String(validating: text, as: UTF8.self)
    }
}
