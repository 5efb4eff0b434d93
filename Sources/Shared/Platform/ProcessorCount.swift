import CPlatform
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How many CPUs this process may use (the `WORKERS` default).
public enum ProcessorCount {
    /// On Linux: the CPUs in the affinity mask (`taskset`, cpusets), lowered to a cgroup v2 CPU quota rounded up
    /// (`docker --cpus 1.5` gives 2); at least 1. Elsewhere: the online CPUs. (Foundation's `activeProcessorCount`,
    /// used before, counted the online CPUs and ignored the affinity mask.)
    public static func available() -> Int {
        #if os(Linux)
        var count = affinityCount() ?? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        if let quota = cgroupQuota() { count = min(count, quota) }
        return max(1, count)
        #else
        return max(1, Int(sysconf(_SC_NPROCESSORS_ONLN)))
        #endif
    }

    #if os(Linux)
    private static func affinityCount() -> Int? {
        let count = cg_affinity_cpu_count()
        return count > 0 ? Int(count) : nil
    }

    /// `ceil(quota / period)` from `/sys/fs/cgroup/cpu.max` (`max 100000` means no quota).
    private static func cgroupQuota() -> Int? {
        guard let text = TextFile.contents(atPath: "/sys/fs/cgroup/cpu.max") else { return nil }
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count >= 2, let quota = Int(fields[0]), let period = Int(fields[1]), quota > 0, period > 0
        else { return nil }
        return max(1, (quota + period - 1) / period)
    }
    #endif
}
