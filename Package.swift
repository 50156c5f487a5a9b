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
        .library(name: "NeuralEngine", targets: ["NeuralEngine"]),
    ],
    targets: [
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .systemLibrary(
            name: "CLibCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),
        .systemLibrary(name: "COpenBLAS", providers: [.apt(["libopenblas-dev"])]),
        .target(name: "JobStore", dependencies: ["CLibPQ", "CLibCrypto"]),
        .target(name: "NeuralEngine", dependencies: ["CDNNL", "COpenBLAS"]),
        .executableTarget(name: "stdnet", dependencies: ["JobStore"]),
        .testTarget(name: "JobStoreTests", dependencies: ["JobStore"]),
        .testTarget(name: "NeuralEngineTests", dependencies: ["NeuralEngine"]),
        .executableTarget(name: "NeuralEngineBenchmarks", dependencies: ["NeuralEngine"], path: "Benchmarks/NeuralEngineBenchmarks"),
    ]
)
