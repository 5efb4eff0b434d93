import Glibc

/// A failed `posix_spawn`.
struct SpawnError: Error, CustomStringConvertible {
    let code: Int32
    var description: String { "posix_spawn failed: \(String(cString: strerror(code)))" }
}

/// Starts worker processes with `posix_spawn` of the master's own executable — never a bare `fork()`: the master is
/// multi-threaded (NIO, Dispatch) and a forked child of a threaded process can deadlock before it execs.
///
/// The child gets the slot's listener as fd 3 (`LISTEN_FDS=1`), its end of the control socketpair as fd 4, an
/// empty signal mask and default signal dispositions; every other descriptor above 2 is closed (the master's
/// descriptors are CLOEXEC as well — this is the belt to those braces).
struct WorkerSpawner {
    /// `/proc/self/exe` names the master's binary even if the file was replaced on disk since it started.
    var executable = "/proc/self/exe"
    /// `argv[0]` of the worker (what `ps` shows).
    var argv0: String

    static let listenerDescriptor: Int32 = 3
    static let controlDescriptor: Int32 = 4

    /// - Parameters:
    ///   - listener: the slot's listening socket in the master (moved to fd 3 in the child).
    ///   - control: the child's end of the control socketpair (moved to fd 4 in the child).
    ///   - environment: `KEY=value` strings, the worker's complete environment.
    func spawn(slot: Int, generation: Int, listener: Int32, control: Int32,
               environment: [String]) throws(SpawnError) -> pid_t {
        // dup2 onto 3 and 4 is only order-independent when the sources are neither 3 nor 4.
        precondition(listener > Self.controlDescriptor && control > Self.controlDescriptor,
                     "spawn sources must be above fd 4, got listener \(listener), control \(control)")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var status = posix_spawn_file_actions_adddup2(&actions, listener, Self.listenerDescriptor)
        if status == 0 { status = posix_spawn_file_actions_adddup2(&actions, control, Self.controlDescriptor) }
        if status == 0, let closeFrom = Self.addCloseFrom {
            status = closeFrom(&actions, Self.controlDescriptor + 1)
        }
        guard status == 0 else { throw SpawnError(code: status) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        status = posix_spawnattr_setsigmask(&attributes, &emptyMask)
        if status == 0 { status = posix_spawnattr_setsigdefault(&attributes, &allSignals) }
        if status == 0 {
            status = posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        }
        guard status == 0 else { throw SpawnError(code: status) }

        let arguments = [argv0, "worker", "--slot", String(slot), "--generation", String(generation)]
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        status = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard status == 0 else { throw SpawnError(code: status) }
        return pid
    }

    /// `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34+) is declared only under `_GNU_SOURCE`, which the
    /// Swift importer does not define; look it up at run time and do without it on older C libraries.
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
    private static let addCloseFrom: AddCloseFrom? = {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)
    }()
}
