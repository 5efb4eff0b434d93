#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An invariant failed: print why and abort, which libFuzzer records as a crash (with the input saved) and
/// which fails the test run that replays the corpus (`Tests/FuzzReplayTests`).
public func invariantFailed(_ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    let text = "FUZZ INVARIANT VIOLATED (\(file):\(line)): \(message())\n"
    var bytes = Array(text.utf8)
    bytes.withUnsafeMutableBytes { buffer in
        guard let base = buffer.baseAddress else { return }
        var offset = 0
        while offset < buffer.count {
            let written = write(2, base + offset, buffer.count - offset)
            if written <= 0 { break }
            offset += written
        }
    }
    abort()
}

public func check(_ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID,
                  line: UInt = #line) {
    if !condition { invariantFailed(message(), file: file, line: line) }
}

/// Whether an opt-in check is enabled: `FUZZ_<NAME>=1` in the environment.
public func fuzzFlag(_ name: String) -> Bool {
    guard let value = getenv("FUZZ_" + name) else { return false }
    return String(cString: value) == "1"
}

/// A shortened, printable rendering of a value for invariant messages.
public func shown(_ value: some Any, limit: Int = 600) -> String {
    let text = String(describing: value)
    return text.count > limit ? String(text.prefix(limit)) + "…(\(text.count) chars)" : text
}
