// swift-tools-version:6.1
import PackageDescription

// Layers (arrows point down only; see ../shared/DESIGN.md):
// L4 winmdm, MDMTesting · L3 MDMServer, MDMEmulator · L2 MDMService, MDMStorageSQL · L1 MDMPKI, MDMStorage, MDMLab · L0 MDMCore, MDMWire
let package = Package(
    name: "winmdm",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "winmdm", targets: ["winmdm"]),
        .library(name: "MDMTesting", targets: ["MDMTesting"]),
        .library(name: "MDMEmulator", targets: ["MDMEmulator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/vapor/sqlite-kit.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
        .package(url: "https://github.com/vapor/postgres-kit.git", from: "2.17.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // L0
        .target(name: "MDMCore"),
        .target(name: "MDMWire"),
        // L1
        .target(name: "MDMPKI", dependencies: [
            "MDMCore",
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
        ]),
        .target(name: "MDMStorage", dependencies: ["MDMCore"]),
        .target(name: "MDMConsole", dependencies: ["MDMCore", .product(name: "Mustache", package: "swift-mustache")]),
        .target(name: "MDMTroubleshoot", dependencies: ["MDMCore"], resources: [.copy("Resources/kb"), .copy("Resources/cases")]),
        // L2
        .target(name: "MDMStorageSQL", dependencies: [
            "MDMStorage", "MDMCore",
            .product(name: "SQLiteKit", package: "sqlite-kit"),
            .product(name: "SQLKit", package: "sql-kit"),
            .product(name: "PostgresKit", package: "postgres-kit"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
        ]),
        .target(name: "MDMService", dependencies: [
            "MDMCore", "MDMWire", "MDMPKI", "MDMStorage", "MDMTroubleshoot",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
        ]),
        // L3
        .target(name: "MDMServer", dependencies: [
            "MDMService", "MDMCore", "MDMStorage", "MDMPKI", "MDMConsole",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
        ], resources: [.copy("Resources/openapi.json"), .copy("Resources/graph-metadata-v1.0.xml"), .copy("Resources/graph-metadata-beta-additions.xml")]),
        // L4
        .executableTarget(name: "winmdm", dependencies: [
            "MDMServer", "MDMService", "MDMStorage", "MDMStorageSQL", "MDMPKI", "MDMCore", "MDMWire", "MDMEmulator", "MDMLab",
            "MDMTroubleshoot",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        // The Windows device emulator: a product feature (winmdm emulate, the benchmarks) as much as the tests' device.
        .target(name: "MDMEmulator", dependencies: [
            "MDMWire", "MDMPKI", "MDMCore",
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        // A throwaway PostgreSQL and free loopback ports, for the benchmarks and the tests.
        .target(name: "MDMLab"),
        // Tests only: the storage conformance suite; it re-exports the emulator and the lab for the test targets.
        .target(name: "MDMTesting", dependencies: ["MDMEmulator", "MDMLab", "MDMCore", "MDMStorage"]),
        // Tests
        .testTarget(name: "MDMCoreTests", dependencies: ["MDMCore"]),
        .testTarget(name: "MDMConsoleTests", dependencies: ["MDMConsole", "MDMCore"]),
        .testTarget(name: "MDMTroubleshootTests", dependencies: ["MDMTroubleshoot", "MDMCore"]),
        .testTarget(name: "MDMServiceTests", dependencies: ["MDMService", "MDMWire", "MDMCore"]),
        .testTarget(name: "MDMWireTests", dependencies: ["MDMWire"]),
        .testTarget(name: "MDMPKITests", dependencies: ["MDMPKI", "MDMCore", "MDMTesting",
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "_CryptoExtras", package: "swift-crypto")]),
        .testTarget(name: "EndToEndTests", dependencies: [
            "MDMServer", "MDMService", "MDMStorage", "MDMStorageSQL", "MDMTesting", "MDMWire", "MDMCore", "MDMPKI",
            "MDMTroubleshoot",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
    ]
)

// libFuzzer harnesses (Fuzz/run.sh): only with WINMDM_FUZZ set, built with `--sanitize fuzzer` into .build-fuzz.
if Context.environment["WINMDM_FUZZ"] != nil {
    package.targets.append(.executableTarget(
        name: "WinMDMFuzz", dependencies: ["MDMWire", "MDMPKI", "MDMService", "MDMTroubleshoot"],
        swiftSettings: [.unsafeFlags(["-parse-as-library"])]))
    package.products.append(.executable(name: "winmdm-fuzz", targets: ["WinMDMFuzz"]))
}
