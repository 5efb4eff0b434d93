#if canImport(Glibc)
import Glibc
#endif
import Shared

// A child inherits its parent's blocked signals; start clean so the bench script can stop us.
var emptySet = sigset_t()
sigemptyset(&emptySet)
sigprocmask(SIG_SETMASK, &emptySet, nil)
// A peer that closes mid-write must not kill the generator.
signal(SIGPIPE, SIG_IGN)

let usage = """
    usage: gateway-bench translate [--fixture PATH] [--reps N] [--request-iters N] [--chunk-iters N]
                                   [--only request|chunk|first-sight]
           gateway-bench load --url http://127.0.0.1:PORT … (gateway-bench load --help)
           gateway-bench rss PID…     sum of VmRSS/VmHWM/PSS over each PID's process tree, as JSON
           gateway-bench wait-idle --pids P,P [--below CORES] [--max SECONDS]   until the trees stop using CPU
    Every command prints one JSON object on stdout.
    """

func emit(_ value: JSONValue) {
    print(value.serializedString)
}

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    printError(usage)
    exit(2)
}
do {
    switch arguments[1] {
    case "translate":
        emit(try TranslateBench.run(TranslateBench.parse(arguments.dropFirst(2))))
    case "load":
        if arguments.contains("--help") {
            print(LoadCommand.usage)
            exit(0)
        }
        emit(try LoadCommand.run(LoadCommand.parse(arguments.dropFirst(2))))
    case "rss":
        var trees: [JSONValue] = []
        for raw in arguments.dropFirst(2) {
            guard let pid = Int32(raw) else { throw UsageError("rss: bad pid \(raw)") }
            let processes = ProcStats.tree([pid])
            var rss = 0
            var hwm = 0
            var pss = 0
            var each: [JSONValue] = []
            for process in processes {
                let memory = ProcStats.memory(process.pid)
                rss += memory?.rssKiB ?? 0
                hwm += memory?.hwmKiB ?? 0
                let processPSS = ProcStats.pssKiB(process.pid) ?? 0
                pss += processPSS
                each.append(.object(JSONObject([
                    ("pid", .int(Int(process.pid))), ("name", .string(process.name)),
                    ("rss_kib", .int(memory?.rssKiB ?? 0)), ("hwm_kib", .int(memory?.hwmKiB ?? 0)),
                    ("pss_kib", .int(processPSS)),
                ])))
            }
            trees.append(.object(JSONObject([
                ("root", .int(Int(pid))), ("rss_kib", .int(rss)), ("hwm_kib", .int(hwm)), ("pss_kib", .int(pss)),
                ("processes", .array(each)),
            ])))
        }
        emit(.object(JSONObject([("kind", .string("rss")), ("trees", .array(trees))])))
    case "wait-idle":
        // After a run, an arm may still be working off requests the generator gave up on (LiteLLM after an
        // aborted run); the next run must not pay for that.
        var pids: [Int32] = []
        var below = 0.05
        var limit = 30.0
        var iterator = arguments.dropFirst(2).makeIterator()
        while let flag = iterator.next() {
            guard let raw = iterator.next() else { throw UsageError("\(flag) needs a value") }
            switch flag {
            case "--pids": pids = raw.split(separator: ",").compactMap { Int32($0) }
            case "--below": below = try positiveDouble(flag, raw)
            case "--max": limit = try positiveDouble(flag, raw)
            default: throw UsageError("wait-idle: unknown argument \(flag)")
            }
        }
        let start = Clock.monotonicNanos()
        var utilisation = 0.0
        func treeTicks() -> UInt64 { ProcStats.tree(pids).reduce(0) { $0 + $1.cpuTicks } }
        while true {
            let before = treeTicks()
            usleep(500_000)
            utilisation = Double(treeTicks() &- before) / ProcStats.clockTicksPerSecond / 0.5
            let waited = Double(Clock.monotonicNanos() - start) / 1e9
            if utilisation < below || waited >= limit { break }
        }
        emit(.object(JSONObject([
            ("kind", .string("wait_idle")), ("waited_s", .double(round3(Double(Clock.monotonicNanos() - start) / 1e9))),
            ("cpu_util", .double(round3(utilisation))), ("idle", .bool(utilisation < below)),
        ])))
    case "-h", "--help", "help":
        print(usage)
    default:
        printError(usage)
        exit(2)
    }
} catch {
    printError("gateway-bench: \(error)")
    exit(1)
}
exit(0)
