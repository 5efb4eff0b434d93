import NIOCore

/// Command-line options of `fake-cerebras`.
struct FakeOptions {
    var host = "127.0.0.1"
    /// 0 asks the kernel for a free port; the chosen one is printed as `LISTENING <port>`.
    var port = 0
    var threads = System.coreCount
    var defaultScenario = ScenarioSpec(.text)

    static let usage = """
        usage: fake-cerebras [--port N] [--host ADDR] [--threads N] [--default-scenario NAME[;k=v…]]
        Prints `LISTENING <port>` once ready; stops on SIGTERM or SIGINT.
        Scenarios: \(Scenario.allCases.map(\.rawValue).joined(separator: ", "))
        Parameters any answer takes: delay_ms, ignore_stream=1 (one JSON body even to a streamed request),
        content_type (that JSON body's media type), resend=1 (a streamed answer's tool calls sent again whole at
        its end, with their ids and names)
        flaky takes fail=N (the first N attempts of each x-fake-key fail: 503, or status=S), cut=B (a failing
        attempt is a 200 answer whose connection is lost after B bytes of its body)
        paced takes chunks=N (`tok0 `…, a chunk each; 10 by default), interval_ms (the pacing), coalesce=0 (never
        send overdue chunks in one write) and tool=1 (the tokens as lines of a tool call's arguments, `tok0\n`, …)
        """

    enum ParseError: Error, CustomStringConvertible {
        case missingValue(String)
        case badValue(String, String)
        case unknownFlag(String)
        case help

        var description: String {
            switch self {
            case .missingValue(let flag): return "\(flag) needs a value"
            case .badValue(let flag, let value): return "bad value for \(flag): \(value)"
            case .unknownFlag(let flag): return "unknown argument \(flag)"
            case .help: return "help requested"
            }
        }
    }

    static func parse(_ arguments: some Sequence<String>) throws -> FakeOptions {
        var options = FakeOptions()
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            // Accept both `--flag value` and `--flag=value`.
            var flag = argument
            var inlineValue: String?
            if let eq = argument.firstIndex(of: "="), argument.hasPrefix("--") {
                flag = String(argument[..<eq])
                inlineValue = String(argument[argument.index(after: eq)...])
            }
            func value() throws -> String {
                if let inlineValue { return inlineValue }
                guard let next = iterator.next() else { throw ParseError.missingValue(flag) }
                return next
            }
            switch flag {
            case "--port":
                let raw = try value()
                guard let port = Int(raw), (0...65535).contains(port) else { throw ParseError.badValue(flag, raw) }
                options.port = port
            case "--host":
                options.host = try value()
            case "--threads":
                let raw = try value()
                guard let threads = Int(raw), threads > 0 else { throw ParseError.badValue(flag, raw) }
                options.threads = threads
            case "--default-scenario":
                let raw = try value()
                guard let spec = ScenarioSpec(parsing: raw) else { throw ParseError.badValue(flag, raw) }
                options.defaultScenario = spec
            case "-h", "--help":
                throw ParseError.help
            default:
                throw ParseError.unknownFlag(argument)
            }
        }
        return options
    }
}
