#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// A child inherits its parent's blocked signals (Swift's test runner blocks SIGTERM); start clean.
var emptySet = sigset_t()
sigemptyset(&emptySet)
sigprocmask(SIG_SETMASK, &emptySet, nil)

/// Writes one line to stderr (the C `stderr` global is off-limits in Swift 6 mode).
func printError(_ line: String) {
    let text = line + "\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
}

let options: FakeOptions
do {
    options = try FakeOptions.parse(CommandLine.arguments.dropFirst())
} catch FakeOptions.ParseError.help {
    print(FakeOptions.usage)
    exit(0)
} catch {
    printError("fake-cerebras: \(error)\n\(FakeOptions.usage)")
    exit(2)
}

// Block TERM/INT before any event-loop thread exists so every thread inherits the block and
// the main thread alone receives them through sigwait: no async-signal-safety concerns.
var stopSignals = sigset_t()
sigemptyset(&stopSignals)
sigaddset(&stopSignals, SIGTERM)
sigaddset(&stopSignals, SIGINT)
pthread_sigmask(SIG_BLOCK, &stopSignals, nil)

let server = FakeServer(options: options)
let port: Int
do {
    port = try server.start()
} catch {
    printError("fake-cerebras: cannot listen on \(options.host):\(options.port): \(error)")
    exit(1)
}
print("LISTENING \(port)")
fflush(nil)

var received: Int32 = 0
sigwait(&stopSignals, &received)
server.stop()
exit(0)
