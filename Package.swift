// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "cerebras-gateway",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "cerebras-gateway", targets: ["Master"]),
        .executable(name: "fake-cerebras", targets: ["FakeCerebras"]),
        .executable(name: "gateway-bench", targets: ["GatewayBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        // C libraries named by the owner, found through pkg-config.
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // libcurl, opened at run time by the workers only (the master never calls upstream), behind a thin C shim
        // that also wraps the variadic setopt/getinfo Swift cannot call. Its headers come from libcurl4-openssl-dev.
        .target(
            name: "CCurl",
            linkerSettings: [.linkedLibrary("dl")]
        ),
        // GNU libc extensions Swift's Glibc module leaves out (thread names, the CPU affinity mask).
        .target(name: "CPlatform"),
        .target(
            name: "Shared",
            dependencies: [
                "CHiredis", "CCrypto", "CPlatform",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .target(
            name: "Worker",
            dependencies: [
                "Shared", "CCurl", "CPlatform",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "Master",
            dependencies: [
                "Shared", "Worker",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // A scriptable stand-in for the Cerebras API, used by the tests and the benchmarks.
        .executableTarget(
            name: "FakeCerebras",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "GatewayBench",
            dependencies: [
                "Shared",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Benchmarks/GatewayBench"
        ),
        // Real-socket HTTP client, loopback sockets and the fake upstream process, shared by the test targets.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(
            name: "SharedTests",
            dependencies: [
                "Shared", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "WorkerTests",
            dependencies: [
                "Shared", "Worker", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "MasterTests", dependencies: ["Shared", "Master", "TestSupport"]),
        .testTarget(
            name: "FakeCerebrasTests",
            dependencies: [
                "FakeCerebras", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // The fuzz targets' checks (also built by scripts/fuzz.sh with libFuzzer and ASan, see Fuzz/README.md),
        // here without sanitizers so every `swift test` compiles them and replays the seeds through them.
        .target(
            name: "FuzzChecks",
            dependencies: ["Shared", .product(name: "NIOCore", package: "swift-nio")],
            path: "Fuzz/Sources/FuzzChecks"
        ),
        .testTarget(name: "FuzzReplayTests", dependencies: ["FuzzChecks"]),
    ],
    swiftLanguageModes: [.v6]
)
