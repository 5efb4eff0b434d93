import CPlatform
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Starts a detached, named POSIX thread that runs a closure (what `Foundation.Thread` did, without Foundation).
public enum DetachedThread {
    /// Runs `body` on a new detached thread named `name` (as `top -H` and `gdb` show it). A thread that cannot be
    /// created is a fatal error, as it was with `Thread.start()`.
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let context = Unmanaged.passRetained(ThreadContext(name: name, body: body)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        #if canImport(Glibc)
        var thread = pthread_t()
        #else
        var thread: pthread_t?
        #endif
        let result = pthread_create(&thread, &attributes, { rawContext in
            #if canImport(Glibc)
            let context = Unmanaged<ThreadContext>.fromOpaque(rawContext!).takeRetainedValue()
            #else
            let context = Unmanaged<ThreadContext>.fromOpaque(rawContext).takeRetainedValue()
            #endif
            context.run()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<ThreadContext>.fromOpaque(context).release()
            fatalError("cannot start thread \(name): pthread_create returned \(result)")
        }
    }
}

/// What a new thread needs: its name and its work, handed over through `pthread_create`'s context pointer.
private final class ThreadContext {
    let name: String
    let body: @Sendable () -> Void

    init(name: String, body: @escaping @Sendable () -> Void) {
        self.name = name
        self.body = body
    }

    func run() {
        // Named from inside the thread, the one form every platform has. A name Linux refuses (over 15 bytes)
        // leaves the process's name, as `Thread.name` did.
        _ = cg_set_current_thread_name(name)
        body()
    }
}
