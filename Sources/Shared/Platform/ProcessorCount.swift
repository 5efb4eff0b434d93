import CPlatform
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How many CPUs this process may use (the `WORKERS` default).
public enum ProcessorCount {
    /// On Linux: the CPUs in the affinity mask (`taskset`, cpusets), lowered to a cgroup CPU quota (v2, else v1)
    /// rounded up (`docker --cpus 1.5` gives 2); at least 1. Elsewhere: the online CPUs. (Foundation's
    /// `activeProcessorCount`, used before, counted the online CPUs and ignored the affinity mask.)
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

    private static func cgroupQuota() -> Int? {
        cpuQuota(cgroupV2CPUMax: TextFile.contents(atPath: "/sys/fs/cgroup/cpu.max"),
                 cgroupV1Quota: TextFile.contents(atPath: "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"),
                 cgroupV1Period: TextFile.contents(atPath: "/sys/fs/cgroup/cpu/cpu.cfs_period_us"))
    }
    #endif

    /// `ceil(quota / period)`: from cgroup v2's `cpu.max` (`max 100000` means no quota), else from cgroup v1's
    /// `cpu.cfs_quota_us` / `cpu.cfs_period_us` (a quota of -1 means none); nil without a quota.
    static func cpuQuota(cgroupV2CPUMax: String?, cgroupV1Quota: String?, cgroupV1Period: String?) -> Int? {
        func quota(_ quota: Substring?, _ period: Substring?) -> Int? {
            guard let quota = quota.flatMap({ Int($0) }), let period = period.flatMap({ Int($0) }),
                quota > 0, period > 0 else { return nil }
            return max(1, (quota + period - 1) / period)
        }
        let separators: (Character) -> Bool = { $0 == " " || $0 == "\n" }
        if let text = cgroupV2CPUMax {
            let fields = text.split(whereSeparator: separators)
            return fields.count >= 2 ? quota(fields[0], fields[1]) : nil
        }
        return quota(cgroupV1Quota?.split(whereSeparator: separators).first,
                     cgroupV1Period?.split(whereSeparator: separators).first)
    }
}
