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
        .library(name: "Imaging", targets: ["Imaging"]),
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
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .target(name: "JobStore", dependencies: ["CLibPQ", "CLibCrypto"]),
        .target(name: "Imaging", dependencies: ["CZlib"]),
        .executableTarget(name: "stdnet", dependencies: ["JobStore", "Imaging"]),
        .testTarget(name: "JobStoreTests", dependencies: ["JobStore"]),
        .executableTarget(name: "ImagingBenchmark", dependencies: ["Imaging"], path: "Benchmarks/ImagingBenchmark"),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "CLibCrypto"], exclude: ["Fixtures"]),
    ]
)
