@preconcurrency import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Shared

/// `cerebras-gateway worker …`: the worker process. Under a master it serves on the inherited listener (fd 3)
/// and talks to the master on fd 4; alone (`--standalone`) it binds HOST:PORT itself.
public enum WorkerEntry {
    /// Exit code of a worker that cannot boot: the master halts instead of respawning it forever.
    public static let bootFailureExitCode: Int32 = 3

    public static func run(arguments: [String]) -> Never {
        var mask = sigset_t()
        sigemptyset(&mask)
        sigprocmask(SIG_SETMASK, &mask, nil)

        var slot = 0
        var generation = 0
        var standalone = false
        var configArguments: [String] = []
        var index = 0
        while index < arguments.count {
            switch arguments[index] {
            case "--slot" where index + 1 < arguments.count:
                slot = Int(arguments[index + 1]) ?? 0
                index += 1
            case "--generation" where index + 1 < arguments.count:
                generation = Int(arguments[index + 1]) ?? 0
                index += 1
            case "--standalone":
                standalone = true
            default:
                configArguments.append(arguments[index])
            }
            index += 1
        }

        let config: GatewayConfig
        do {
            config = try ConfigLoader.load(arguments: configArguments).config
        } catch {
            StandardError.write("cerebras-gateway worker: invalid configuration: \(error)\n")
            exit(bootFailureExitCode)
        }
        JSONLogHandler.bootstrap(level: config.logLevel, file: config.logFile)
        let logger = {
            var logger = Logger(label: "cerebras-gateway.worker")
            logger[metadataKey: "worker.slot"] = .string(String(slot))
            logger[metadataKey: "worker.generation"] = .string(String(generation))
            logger[metadataKey: "worker.pid"] = .string(String(getpid()))
            return logger
        }()

        let environment = ProcessEnvironment.current()
        // A hook for the master's boot-failure test.
        if environment["CGW_TEST_FAIL_BOOT"] == "1" {
            logger.error("boot failure requested by CGW_TEST_FAIL_BOOT")
            exit(bootFailureExitCode)
        }

        let inherited = !standalone && environment["LISTEN_FDS"] == "1"
        do {
            // CGW_TEST_LIBCURL: a hook for the test of a worker that cannot open libcurl.
            try UpstreamClient.globalInit(library: environment["CGW_TEST_LIBCURL"])
        } catch {
            logger.error("worker cannot start", metadata: ["error": .string("\(error)")])
            exit(bootFailureExitCode)
        }
        let drainOnce = NIOLockedValueBox(false)
        let runtimeBox = NIOLockedValueBox<WorkerRuntime?>(nil)
        let drainAndExit: @Sendable () -> Void = {
            guard !drainOnce.withLockedValue({ old in defer { old = true }; return old }) else { return }
            guard let runtime = runtimeBox.withLockedValue({ $0 }) else { exit(0) }
            logger.info("draining")
            runtime.drain().whenComplete { _ in
                logger.info("drained; exiting")
                exit(0)
            }
        }
        let runtime: WorkerRuntime
        do {
            runtime = try WorkerRuntime(config: config, logger: logger, control: inherited ? 4 : nil,
                                        onDrainOrder: drainAndExit)
            runtimeBox.withLockedValue { $0 = runtime }
            let port = try runtime.start(inheritedDescriptor: inherited ? 3 : nil)
            logger.info("worker serving", metadata: ["listen.port": .string(String(port))])
            if standalone {
                StandardOutput.write("LISTENING \(port)\n")
            }
        } catch {
            logger.error("worker cannot start", metadata: ["error": .string("\(error)")])
            exit(bootFailureExitCode)
        }

        installSignalHandlers(drain: drainAndExit)
        dispatchMain()
    }

    // Kept alive for the life of the process; written once at start.
    private nonisolated(unsafe) static var signalSources: [DispatchSourceSignal] = []

    private static func installSignalHandlers(drain: @escaping @Sendable () -> Void) {
        let handlers: [(Int32, @Sendable () -> Void)] = [
            (SIGTERM, drain), (SIGINT, drain),
            (SIGQUIT, { exit(0) }),
            (SIGUSR1, { LogOutput.shared.reopen() }),
        ]
        var sources: [DispatchSourceSignal] = []
        for (signalNumber, handler) in handlers {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler(handler: handler)
            source.resume()
            sources.append(source)
        }
        signal(SIGPIPE, SIG_IGN)
        signalSources = sources
    }
}
