import Glibc

/// A plain pthread mutex that can also be tried: a caller that finds it held takes another path instead of
/// waiting (NIO's locks offer no try).
final class TryLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }

    /// Takes the lock if it is free; false, without waiting, if another thread holds it.
    func tryLock() -> Bool { pthread_mutex_trylock(mutex) == 0 }

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}
