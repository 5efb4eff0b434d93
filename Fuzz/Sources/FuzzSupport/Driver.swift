import CFuzzerDriver

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The signature libFuzzer calls for every input.
public typealias FuzzCallback = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

/// Hands control to libFuzzer with the process's own arguments (`-max_len=…`, corpus dirs, crash files to
/// replay, …). Never returns.
public func runFuzzer(_ callback: FuzzCallback) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, callback))
}

/// The input as a Swift array (libFuzzer passes a null pointer for the empty input).
public func fuzzBytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// An invariant failed: print why and abort, which libFuzzer records as a crash (with the input saved).
public func invariantFailed(_ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    let text = "FUZZ INVARIANT VIOLATED (\(file):\(line)): \(message())\n"
    var bytes = Array(text.utf8)
    bytes.withUnsafeMutableBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let written = write(2, buffer.baseAddress! + offset, buffer.count - offset)
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
