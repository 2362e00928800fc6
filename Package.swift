// swift-tools-version:6.0
// The rnn-* suite: Unix filters that clean text, build vocabularies, encode, train and run
// recurrent neural networks on the CPU.
import PackageDescription
import Foundation

// One binary for every x86-64 CPU: the engine's leaf kernels (Sources/RNNKernels: gate math,
// packed and one-row products, the AVX-512 big product, Adam and other vector loops) are compiled
// three times, for baseline x86-64, x86-64-v3 (AVX2 + FMA) and x86-64-v4 (AVX-512), into
// RNNKernelsBaseline, RNNKernelsV3 and RNNKernelsV4 (directories of symbolic links to the same
// files). The engine picks one set at start-up from CPUID (RNNEngine/Kernels.swift; RNN_KERNELS
// overrides it), so nothing here depends on the machine that builds. Everything else is portable
// code. (Without AVX2 + FMA, SIMD FMA lowers to libm calls and gate math runs ~37x slower,
// docs/PLATFORM.md: that is the baseline set, for CPUs without them.)
// -fno-math-errno lets Float.squareRoot (a C shim in the standard library) become vsqrtps instead
// of eight checked scalar roots: Adam 15 -> 4 ms per step on the IMDB classifier (sqrt is exact
// either way, so results do not change).
func kernelFlags(march: String?, define: String?) -> [SwiftSetting] {
    var flags = ["-Xcc", "-fno-math-errno"]
    #if arch(x86_64)
    if let march { flags += ["-Xcc", "-march=\(march)"] }
    #endif
    return [.unsafeFlags(flags)] + (define.map { [.define($0)] } ?? [])
}
let release: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")

// The tools link the Swift runtime and the Foundation parts they use (ArgumentParser's
// FoundationEssentials) statically: installed binaries need only Debian's shared libraries (libc,
// libm, libz, libpcre2-8, libopenblas, libstdc++ and what those pull in), not the toolchain
// (CLITests/InstallRuntimeTests checks with readelf and ldd).
let staticRuntime: [LinkerSetting] = [.unsafeFlags(["-static-stdlib"], .when(platforms: [.linux]))] +
    ["_FoundationCollections", "_FoundationCShims", "swiftSynchronization"].map { .linkedLibrary($0, .when(platforms: [.linux])) }

func tool(_ name: String, _ deps: [Target.Dependency]) -> Target {
    .executableTarget(name: name, dependencies: deps + ["RNNCLI", argumentParser], path: "Sources/\(name)",
                      linkerSettings: staticRuntime)
}

let package = Package(
    name: "rnn",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "rnn-corpus", targets: ["rnn-corpus"]),
        .executable(name: "rnn-clean", targets: ["rnn-clean"]),
        .executable(name: "rnn-vocab", targets: ["rnn-vocab"]),
        .executable(name: "rnn-encode", targets: ["rnn-encode"]),
        .executable(name: "rnn-fit", targets: ["rnn-fit"]),
        .executable(name: "rnn-classify", targets: ["rnn-classify"]),
        .executable(name: "rnn-sample", targets: ["rnn-sample"]),
        .library(name: "RNNCore", targets: ["RNNCore"]),
        .library(name: "RNNText", targets: ["RNNText"]),
        .library(name: "RNNEngine", targets: ["RNNEngine"]),
        .library(name: "RNNTrain", targets: ["RNNTrain"]),
        .library(name: "RNNMPI", targets: ["RNNMPI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // C libraries from Debian packages.
        .systemLibrary(name: "CPCRE2", pkgConfig: "libpcre2-8", providers: [.apt(["libpcre2-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        // Header only: the bfloat16 training kernel (VDPBF16PS, which Swift cannot express) as static
        // inline C with a target attribute, compiled by the Clang importer (rnn-fit --bf16). SwiftPM
        // does not track the header: touch Sources/RNNEngine/BFloat16.swift after editing it.
        .systemLibrary(name: "CBFloat16"),

        // Libraries: all logic lives here.
        .target(name: "RNNCore", dependencies: ["CZlib"], swiftSettings: release),
        .target(name: "RNNText", dependencies: ["RNNCore", "CPCRE2"], swiftSettings: release),
        // The engine's kernel sets (see kernelFlags) and the table type they export.
        .target(name: "RNNKernelABI", swiftSettings: release),
        .target(name: "RNNKernelsBaseline", dependencies: ["RNNKernelABI"],
                swiftSettings: kernelFlags(march: nil, define: nil) + release),
        .target(name: "RNNKernelsV3", dependencies: ["RNNKernelABI"],
                swiftSettings: kernelFlags(march: "x86-64-v3", define: "RNN_KERNELS_V3") + release),
        .target(name: "RNNKernelsV4", dependencies: ["RNNKernelABI"],
                swiftSettings: kernelFlags(march: "x86-64-v4", define: "RNN_KERNELS_V4") + release),
        .target(name: "RNNEngine", dependencies: ["RNNCore", "COpenBLAS", "CBFloat16", "RNNKernelABI", "RNNKernelsBaseline", "RNNKernelsV3", "RNNKernelsV4"],
                swiftSettings: release),
        .target(name: "RNNTrain", dependencies: ["RNNCore", "RNNText", "RNNEngine", "RNNMPI"], swiftSettings: release),
        // Data-parallel training: the processes of a run (one, or Open MPI's world loaded at run time).
        .target(name: "RNNMPI", dependencies: ["RNNCore"], swiftSettings: release),
        .target(name: "RNNCLI", dependencies: ["RNNCore", "RNNText", argumentParser]),
        // Every reader as a fuzz target (scripts/fuzz.sh, FuzzRegressionTests).
        .target(name: "RNNFuzz", dependencies: ["RNNCore", "RNNText", "RNNEngine", "RNNTrain"], swiftSettings: release),
        // How training is shown (console, progress bar, JSON log, SVG plot): command-line side.
        .target(name: "RNNTrainCLI", dependencies: ["RNNCore", "RNNTrain"]),

        // Thin executables.
        tool("rnn-corpus", ["RNNCore", "RNNText"]),
        tool("rnn-clean", ["RNNCore", "RNNText"]),
        tool("rnn-vocab", ["RNNCore", "RNNText"]),
        tool("rnn-encode", ["RNNCore", "RNNText"]),
        tool("rnn-fit", ["RNNCore", "RNNText", "RNNEngine", "RNNTrain", "RNNTrainCLI", "RNNMPI"]),
        tool("rnn-classify", ["RNNCore", "RNNText", "RNNEngine", "RNNTrain"]),
        tool("rnn-sample", ["RNNCore", "RNNText", "RNNEngine", "RNNTrain"]),
        // Engine benchmark (scripts/bench-engine.sh); not installed.
        .executableTarget(name: "rnn-bench-engine", dependencies: ["RNNCore", "RNNEngine", "RNNMPI"], path: "Sources/rnn-bench-engine",
                          swiftSettings: release),

        // Tests (no PyTorch needed: reference tensors are committed fixtures).
        .testTarget(name: "RNNCoreTests", dependencies: ["RNNCore"]),
        .testTarget(name: "RNNTextTests", dependencies: ["RNNCore", "RNNText"]),
        .testTarget(name: "RNNEngineTests", dependencies: ["RNNCore", "RNNKernelABI", "RNNEngine", "CBFloat16"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "RNNTrainTests", dependencies: ["RNNCore", "RNNText", "RNNEngine", "RNNTrain", "RNNFuzz", "RNNMPI"]),
        .testTarget(name: "RNNTrainCLITests", dependencies: ["RNNCore", "RNNTrain", "RNNTrainCLI"]),
        .testTarget(name: "CLITests", dependencies: ["RNNCore"]),
    ]
)
