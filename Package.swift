// swift-tools-version:6.0
// The stdnet package: a distributed job queue that runs STD-Net on multiphase liver studies.
// C libraries come from Debian packages through system-library targets; scripts/install adds them.
import PackageDescription

let package = Package(
    name: "stdnet",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "stdnet", targets: ["stdnet"]),
        .library(name: "JobStore", targets: ["JobStore"]),
        .library(name: "Wire", targets: ["Wire"]),
    ],
    targets: [
        .systemLibrary(name: "CLibPQ", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(
            name: "CLibCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(name: "JobStore", dependencies: ["CLibPQ", "CLibCrypto"]),
        .systemLibrary(name: "CZeroMQ", providers: [.apt(["libzmq3-dev"])]),
        .target(name: "Wire", dependencies: ["CZeroMQ"]),
        .target(name: "ServiceSupport"),
        .target(name: "Lesions"),
        .target(name: "Coordinator", dependencies: ["JobStore", "Wire", "ServiceSupport"]),
        .target(name: "Worker", dependencies: ["Wire", "ServiceSupport"]),
        .executableTarget(name: "stdnet", dependencies: ["JobStore", "Wire", "ServiceSupport", "Coordinator", "Worker"]),
        .testTarget(name: "LesionsTests", dependencies: ["Lesions"]),
        .target(name: "TestSupport", dependencies: ["JobStore"], path: "Tests/TestSupport"),
        .testTarget(name: "JobStoreTests", dependencies: ["JobStore", "TestSupport"]),
        .testTarget(name: "ServiceTests", dependencies: ["JobStore", "Wire", "TestSupport"]),
        .executableTarget(name: "QueueBenchmark", dependencies: ["JobStore"], path: "Benchmarks/QueueBenchmark"),
    ]
)
