#if canImport(Glibc)
import Glibc
#endif
import Shared

/// CPU and memory of processes under test, read from `/proc` (Linux only).
enum ProcStats {
    static let clockTicksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    struct Sample: Sendable {
        var pid: Int32
        var ppid: Int32
        var name: String
        /// utime + stime, in clock ticks.
        var cpuTicks: UInt64
    }

    /// `/proc/<pid>/stat`: name, parent and utime+stime; nil when the process is gone.
    static func stat(_ pid: Int32) -> Sample? {
        guard let bytes = readFileBytes("/proc/\(pid)/stat") else { return nil }
        // The name is in parentheses and may hold spaces: fields restart after the last ')'.
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")),
            let open = bytes.firstIndex(of: UInt8(ascii: "("))
        else { return nil }
        let name = String(decoding: bytes[(open + 1)..<close], as: UTF8.self)
        let rest = bytes[(close + 2)...].split(separator: UInt8(ascii: " "))
        // rest[0] is field 3 (state); ppid is field 4, utime 14, stime 15.
        guard rest.count > 13,
            let ppid = Int32(String(decoding: rest[1], as: UTF8.self)),
            let utime = UInt64(String(decoding: rest[11], as: UTF8.self)),
            let stime = UInt64(String(decoding: rest[12], as: UTF8.self))
        else { return nil }
        return Sample(pid: pid, ppid: ppid, name: name, cpuTicks: utime + stime)
    }

    /// Every live process's stat.
    static func allProcesses() -> [Sample] {
        guard let dir = opendir("/proc") else { return [] }
        defer { closedir(dir) }
        var result: [Sample] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard let pid = Int32(name), let sample = stat(pid) else { continue }
            result.append(sample)
        }
        return result
    }

    /// `roots` and all their descendants.
    static func tree(_ roots: [Int32]) -> [Sample] {
        let all = allProcesses()
        var children: [Int32: [Sample]] = [:]
        var byPID: [Int32: Sample] = [:]
        for sample in all {
            children[sample.ppid, default: []].append(sample)
            byPID[sample.pid] = sample
        }
        var result: [Sample] = []
        var queue = roots.compactMap { byPID[$0] }
        var seen = Set<Int32>()
        while let next = queue.popLast() {
            guard seen.insert(next.pid).inserted else { continue }
            result.append(next)
            queue.append(contentsOf: children[next.pid] ?? [])
        }
        return result
    }

    /// `VmRSS` and `VmHWM` (peak RSS) from `/proc/<pid>/status`, in KiB.
    static func memory(_ pid: Int32) -> (rssKiB: Int, hwmKiB: Int)? {
        guard let bytes = readFileBytes("/proc/\(pid)/status") else { return nil }
        var rss = 0
        var hwm = 0
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            let text = String(decoding: line, as: UTF8.self)
            if text.hasPrefix("VmRSS:") {
                rss = Int(text.dropFirst(6).filter(\.isNumber)) ?? 0
            } else if text.hasPrefix("VmHWM:") {
                hwm = Int(text.dropFirst(6).filter(\.isNumber)) ?? 0
            }
        }
        return (rss, hwm)
    }

    /// Busy and total CPU ticks of the whole machine, from the first line of `/proc/stat`.
    static func machineTicks() -> (busy: UInt64, total: UInt64) {
        guard let bytes = readFileBytes("/proc/stat"),
            let line = bytes.split(separator: UInt8(ascii: "\n")).first
        else { return (0, 0) }
        let values = line.split(separator: UInt8(ascii: " ")).dropFirst().prefix(8).map {
            UInt64(String(decoding: $0, as: UTF8.self)) ?? 0
        }
        guard values.count == 8 else { return (0, 0) }
        // user nice system idle iowait irq softirq steal
        let idle = values[3] + values[4]
        let total = values.reduce(0, +)
        return (total - idle, total)
    }

    /// Proportional set size (shared pages divided among the processes mapping them), in KiB: what a tree of
    /// processes sharing one binary and its libraries really costs, where summing RSS counts the libraries N times.
    static func pssKiB(_ pid: Int32) -> Int? {
        guard let bytes = readFileBytes("/proc/\(pid)/smaps_rollup") else { return nil }
        for line in bytes.split(separator: UInt8(ascii: "\n")) where line.starts(with: "Pss:".utf8) {
            return Int(String(decoding: line.dropFirst(4), as: UTF8.self).filter(\.isNumber))
        }
        return nil
    }

    /// Sum of `VmRSS` over a process tree, in KiB.
    static func treeRSSKiB(_ roots: [Int32]) -> Int {
        tree(roots).reduce(0) { $0 + (memory($1.pid)?.rssKiB ?? 0) }
    }
}

/// CPU consumed by a named process tree between `start` and `finish`.
struct TreeCPUMeter {
    let label: String
    let roots: [Int32]
    private var startTicks: [Int32: UInt64] = [:]

    init(label: String, roots: [Int32]) {
        self.label = label
        self.roots = roots
        for sample in ProcStats.tree(roots) { startTicks[sample.pid] = sample.cpuTicks }
    }

    /// CPU seconds since `init` (processes born since count whole), with per-process memory.
    func finish() -> JSONValue {
        let samples = ProcStats.tree(roots)
        var ticks: UInt64 = 0
        var processes: [JSONValue] = []
        var rssTotal = 0
        for sample in samples {
            let delta = sample.cpuTicks &- (startTicks[sample.pid] ?? 0)
            ticks &+= delta
            let memory = ProcStats.memory(sample.pid)
            rssTotal += memory?.rssKiB ?? 0
            processes.append(
                .object(
                    JSONObject([
                        ("pid", .int(Int(sample.pid))), ("name", .string(sample.name)),
                        ("cpu_s", .double(Double(delta) / ProcStats.clockTicksPerSecond)),
                        ("rss_kib", .int(memory?.rssKiB ?? 0)), ("hwm_kib", .int(memory?.hwmKiB ?? 0)),
                    ])))
        }
        return .object(
            JSONObject([
                ("label", .string(label)), ("roots", .array(roots.map { .int(Int($0)) })),
                ("cpu_s", .double(Double(ticks) / ProcStats.clockTicksPerSecond)),
                ("rss_kib", .int(rssTotal)),
                ("processes", .array(processes)),
            ]))
    }
}
