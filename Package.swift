// swift-tools-version:6.0
// The stdnet package: a distributed job queue that runs STD-Net on multiphase liver studies.
// C libraries come from Debian packages through system-library targets; scripts/install adds them.
import PackageDescription

/// VectorKernels compiled a second time for AVX-512, from the same files (symbolic links), on
/// x86-64 only. NeuralEngine calls it where the CPU has AVX-512 and the baseline build elsewhere.
var vectorKernelsAVX512: (targets: [Target], dependencies: [Target.Dependency]) {
    // NOTE: this tests the machine that evaluates the manifest, not the build target, so a
    // cross-build from x86-64 to another architecture would still compile this module for AVX-512.
    #if arch(x86_64)
    let target = Target.target(
        name: "VectorKernelsAVX512",
        swiftSettings: [.unsafeFlags(["-target-cpu", "skylake-avx512"])])
    return ([target], ["VectorKernelsAVX512"])
    #else
    return ([], [])
    #endif
}

let package = Package(
    name: "stdnet",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "stdnet", targets: ["stdnet"]),
        .library(name: "JobStore", targets: ["JobStore"]),
        .library(name: "Wire", targets: ["Wire"]),
        .library(name: "Imaging", targets: ["Imaging"]),
        .library(name: "NeuralEngine", targets: ["NeuralEngine"]),
    ],
    targets: [
        .systemLibrary(name: "CLibPQ", providers: [.apt(["libpq-dev"])]),
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
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),
        .systemLibrary(name: "CCharLS", providers: [.apt(["libcharls-dev"])]),
        .systemLibrary(name: "COpenJPEG", providers: [.apt(["libopenjp2-7-dev"])]),
        .systemLibrary(name: "CLibJPEG", providers: [.apt(["libjpeg62-turbo-dev"])]),
        .target(name: "JobStore", dependencies: ["CLibPQ", "CLibCrypto"]),
        .target(name: "VectorKernels"),
        .systemLibrary(name: "CCPUID"),
        .target(name: "NeuralEngine", dependencies: ["CDNNL", "CCPUID", "MemoryPolicy", "VectorKernels"] + vectorKernelsAVX512.dependencies),
        .systemLibrary(name: "CMalloc"),
        .target(name: "MemoryPolicy", dependencies: ["CMalloc"]),
        .target(name: "STDNet", dependencies: ["NeuralEngine", "Imaging", "Phantom", "Lesions"]),
        .systemLibrary(name: "CZeroMQ", providers: [.apt(["libzmq3-dev"])]),
        .target(name: "Wire", dependencies: ["CZeroMQ"]),
        .target(name: "ServiceSupport"),
        .target(name: "Imaging", dependencies: ["CZlib", "CCharLS", "COpenJPEG", "CLibJPEG", "MemoryPolicy"]),
        .target(name: "Lesions", dependencies: ["Imaging"]),
        .target(name: "Phantom", dependencies: ["Imaging"]),
        .target(name: "Reports", dependencies: ["Imaging", "Lesions", "CZlib"]),
        .target(name: "Coordinator", dependencies: ["JobStore", "Wire", "ServiceSupport"]),
        .target(name: "Worker", dependencies: ["Wire", "ServiceSupport", "Imaging", "Lesions", "Reports", "STDNet", "NeuralEngine"]),
        .executableTarget(name: "stdnet", dependencies: ["MemoryPolicy", "JobStore", "Wire", "ServiceSupport", "Coordinator", "Worker", "Imaging", "Phantom", "STDNet", "NeuralEngine", "Lesions", "Reports"]),
        .target(name: "TestSupport", dependencies: ["JobStore"], path: "Tests/TestSupport"),
        .testTarget(name: "JobStoreTests", dependencies: ["JobStore", "TestSupport"]),
        .testTarget(name: "ServiceTests", dependencies: ["JobStore", "Wire", "Imaging", "STDNet", "TestSupport", "Coordinator"]),
        .testTarget(name: "stdnetTests", dependencies: ["stdnet", "Wire"]),
        .executableTarget(name: "ImagingBenchmark", dependencies: ["Imaging"], path: "Benchmarks/ImagingBenchmark"),
        .executableTarget(name: "CompressedDecodeBenchmark", dependencies: ["Imaging"], path: "Benchmarks/CompressedDecodeBenchmark"),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "CLibCrypto", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "LesionsTests", dependencies: ["Lesions", "Imaging"]),
        .testTarget(name: "PhantomTests", dependencies: ["Phantom", "Lesions", "Imaging", "CLibCrypto"]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "Lesions", "Imaging", "TestSupport"]),
        .executableTarget(name: "QueueBenchmark", dependencies: ["JobStore"], path: "Benchmarks/QueueBenchmark"),
        .executableTarget(name: "PhantomBenchmark", dependencies: ["Phantom", "Imaging"], path: "Benchmarks/PhantomBenchmark"),
        .testTarget(name: "NeuralEngineTests", dependencies: ["NeuralEngine", "VectorKernels"]),
        .testTarget(name: "STDNetTests", dependencies: ["STDNet", "NeuralEngine", "Lesions"], exclude: ["Fixtures"]),
        .executableTarget(name: "NeuralEngineBenchmarks", dependencies: ["NeuralEngine"], path: "Benchmarks/NeuralEngineBenchmarks"),
        .executableTarget(name: "WindowBenchmark", dependencies: ["STDNet", "NeuralEngine", "MemoryPolicy"], path: "Benchmarks/WindowBenchmark"),
    ] + vectorKernelsAVX512.targets
)
