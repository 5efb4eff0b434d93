#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The time of day (CLOCK_REALTIME): for timestamps people and clients read, never for deadlines.
public enum WallClock {
    /// Seconds since the Unix epoch, with a fraction.
    public static func now() -> Double {
        let time = nowPrecise()
        return Double(time.seconds) + Double(time.nanoseconds) / 1_000_000_000
    }

    /// Whole seconds since the Unix epoch and the nanoseconds past them, without a `Double`'s rounding.
    public static func nowPrecise() -> (seconds: Int, nanoseconds: Int) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return (Int(now.tv_sec), Int(now.tv_nsec))
    }
}
