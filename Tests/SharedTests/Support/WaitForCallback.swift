import Foundation
import TestSupport

/// Turns a completion-handler call into a blocking one for tests.
enum WaitForCallback {
    /// Calls `start` with a completion and waits up to `timeout` seconds for it; `nil` on timeout.
    static func result<T: Sendable>(
        timeout: TimeInterval = 10,
        _ start: (@escaping @Sendable (T) -> Void) -> Void
    ) -> T? {
        let box = LockedBox<T?>(nil)
        let done = DispatchSemaphore(value: 0)
        start { value in
            box.value = value
            done.signal()
        }
        guard done.wait(timeout: .now() + timeout) == .success else { return nil }
        return box.value
    }

    /// Polls `condition` every 10 ms until it holds or `timeout` seconds pass (`eventually`).
    static func until(timeout: TimeInterval = 10, _ condition: () -> Bool) -> Bool {
        eventually(within: timeout, condition)
    }
}

/// A value shared between test threads, guarded by a lock.
final class LockedBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T

    init(_ value: T) {
        self.stored = value
    }

    var value: T {
        get { self.lock.withLock { self.stored } }
        set { self.lock.withLock { self.stored = newValue } }
    }

    func mutate<R>(_ body: (inout T) -> R) -> R {
        self.lock.withLock { body(&self.stored) }
    }
}
