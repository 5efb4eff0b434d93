import Glibc
import Logging
import NIOCore
import NIOPosix
import Shared
import Worker

/// The command line: `worker …` (a worker, spawned by the master), `check-config`, `--version`, `--help`, or —
/// with configuration flags only — the master.
enum MasterCommand {
    static let executableName = "cerebras-gateway"

    static func main(arguments: [String]) -> Int32 {
        switch arguments.first {
        case "worker":
            WorkerEntry.run(arguments: Array(arguments.dropFirst()))
        case "check-config":
            return checkConfig(flags: Array(arguments.dropFirst()))
        default:
            if arguments.contains("--version") {
                print("\(executableName) \(GatewayVersion.current)")
                return 0
            }
            if arguments.contains("--help") || arguments.contains("-h") {
                print(ConfigLoader.helpText(executable: executableName))
                return 0
            }
            return runMaster(flags: arguments)
        }
    }

    /// Validates the configuration exactly as a start would; exit 0 or 1.
    static func checkConfig(flags: [String]) -> Int32 {
        do {
            _ = try ConfigLoader.load(environment: ProcessEnvironment.current(), arguments: flags)
            print("configuration OK")
            return 0
        } catch {
            printError("invalid configuration: \(error.description)")
            return 1
        }
    }

    // MARK: - Master

    /// EX_CONFIG from sysexits.h: a supervisor (systemd's RestartPreventExitStatus) must not restart into the same
    /// broken configuration.
    static let configurationErrorExitCode: Int32 = 78

    static func runMaster(flags: [String]) -> Int32 {
        let environment = ProcessEnvironment.current()
        let config: GatewayConfig
        let source: ConfigSource
        do {
            (config, source) = try ConfigLoader.load(environment: environment, arguments: flags)
        } catch {
            JSONLogHandler.bootstrap(level: "info", file: nil)
            Logger(label: "cerebras-gateway.master").error("invalid configuration",
                                                           metadata: ["error": "\(error.description)"])
            printError("invalid configuration: \(error.description)")
            return configurationErrorExitCode
        }
        JSONLogHandler.bootstrap(level: config.logLevel, file: config.logFile)
        let logger = Logger(label: "cerebras-gateway.master")
        logger.info("master starting", metadata: [
            "gateway.version": "\(GatewayVersion.current)", "master.pid": "\(getpid())",
            "workers.configured": "\(config.workers)",
        ])

        // Handlers first: a TERM arriving while the listeners open is recorded and honoured by the loop.
        let inbox = SignalQueue<ControlEvent>()
        inbox.installHandlers()

        let listeners: SlotListeners
        do {
            listeners = try SlotListeners(host: config.host, port: config.port, count: config.workers)
        } catch {
            logger.error("cannot listen", metadata: [
                "listen.host": "\(config.host)", "listen.port": "\(config.port)", "error": "\(error)",
            ])
            printError(error.addressInUse
                ? "PORT \(config.port) on \(config.host) is already in use; stop the other process or set --port"
                : error.description)
            return 1
        }

        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let metrics = NodeMetrics()
        let hooks = MasterHooks.make(config: config, port: listeners.port, metrics: metrics, logger: logger)
        metrics.setHealthContributor(hooks.health)

        let routes = AdminRoutes(metrics: metrics)
        var admin: AdminServer?
        if config.adminPort != -1 {
            do {
                admin = try AdminServer.start(group: group, host: config.adminHost, port: config.adminPort,
                                              routes: routes)
            } catch {
                logger.error("cannot open the admin listener", metadata: [
                    "admin.host": "\(config.adminHost)", "admin.port": "\(config.adminPort)", "error": "\(error)",
                ])
                let inUse = (error as? IOError)?.errnoCode == EADDRINUSE
                printError(inUse
                    ? "ADMIN_PORT \(config.adminPort) on \(config.adminHost) is already in use; stop the other "
                        + "process, set --admin-port, or disable it with --admin-port -1"
                    : "cannot open the admin listener on \(config.adminHost):\(config.adminPort): \(error)")
                return 1
            }
        }
        defer { admin?.close() }

        let channels = ControlChannels(group: group, requests: hooks.controlRequests, admin: routes) { event in
            inbox.post(event)
        }
        defer { channels.closeAll() }

        hooks.start()
        defer { hooks.stop() }

        let context = MasterLoop.Context(
            processEnvironment: environment, flags: flags, configuredHost: config.host, configuredPort: config.port,
            configuredAdminHost: config.adminHost, configuredAdminPort: config.adminPort, adminPort: admin?.port ?? -1)
        let loop = MasterLoop(
            config: config, source: source, context: context, listeners: listeners,
            spawner: WorkerSpawner(argv0: CommandLine.arguments.first ?? executableName), channels: channels,
            inbox: inbox, metrics: metrics, notifier: SystemdNotifier(environment: environment), logger: logger)
        return loop.run()
    }

    /// One human line on stderr (the JSON log line is for machines).
    static func printError(_ message: String) {
        StandardError.write("\(executableName): error: \(message)\n")
    }
}
