import Foundation

/// Whether `condition` holds within `seconds`, asked every `interval` seconds: for what another thread or process
/// does a moment after the event a test saw (a timer's tick, a counter a server updates after it answers), which a
/// loaded machine may delay. The caller asserts on the result, or on the state it then reads.
public func eventually(within seconds: Double = 5, every interval: Double = 0.01,
                       _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = ProcessInfo.processInfo.systemUptime + seconds
    while true {
        if try condition() { return true }
        if ProcessInfo.processInfo.systemUptime >= deadline { return false }
        usleep(useconds_t(interval * 1_000_000))
    }
}
