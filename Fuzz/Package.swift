// swift-tools-version:6.0
// libFuzzer targets for cerebras-gateway's pure parsing and translation code (module `Shared`).
//
// Not built from here directly: `scripts/fuzz.sh` lays out a scratch package in `.build-fuzz/pkg/` whose
// `Fuzz` entry is a symlink to this directory and whose `Gateway/` is a snapshot of `Sources/` (SwiftPM wants
// every target inside the package root), copies this manifest there and builds it with
// `-sanitize=fuzzer,address` and lld. See Fuzz/README.md.
import PackageDescription

let package = Package(
    name: "cerebras-gateway-fuzz",
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .systemLibrary(name: "CHiredis", path: "Gateway/CHiredis", pkgConfig: "hiredis"),
        .systemLibrary(name: "CCrypto", path: "Gateway/CCrypto", pkgConfig: "libcrypto"),
        .target(name: "CPlatform", path: "Gateway/CPlatform"),
        .target(
            name: "Shared",
            dependencies: [
                "CHiredis", "CCrypto", "CPlatform",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Gateway/Shared"
        ),
        // The checks themselves; the gateway's own Package.swift builds this target too, and its
        // FuzzReplayTests run every seed and regression input through it on each `swift test`.
        .target(
            name: "FuzzChecks",
            dependencies: ["Shared", .product(name: "NIOCore", package: "swift-nio")],
            path: "Fuzz/Sources/FuzzChecks"
        ),
        .target(name: "CFuzzerDriver", path: "Fuzz/Sources/CFuzzerDriver"),
        .target(name: "FuzzDriver", dependencies: ["CFuzzerDriver"], path: "Fuzz/Sources/FuzzDriver"),
        .executableTarget(name: "FuzzRequest", dependencies: ["FuzzChecks", "FuzzDriver"], path: "Fuzz/Sources/FuzzRequest"),
        .executableTarget(name: "FuzzStream", dependencies: ["FuzzChecks", "FuzzDriver"], path: "Fuzz/Sources/FuzzStream"),
        .executableTarget(name: "FuzzControl", dependencies: ["FuzzChecks", "FuzzDriver"], path: "Fuzz/Sources/FuzzControl"),
        .executableTarget(name: "FuzzHTTP", dependencies: ["FuzzChecks", "FuzzDriver"], path: "Fuzz/Sources/FuzzHTTP"),
    ],
    swiftLanguageModes: [.v6]
)
