// swift-tools-version:6.0
// The rnn-* suite: Unix filters that clean text, build vocabularies, encode, train and run
// recurrent neural networks on the CPU.
import PackageDescription
import Foundation

// Numeric code is built for the vector width of the CPU it is built on:
// - x86-64-v4 (AVX-512) when /proc/cpuinfo reports avx512f/bw/cd/dq/vl: the engine then runs its own
//   16-lane kernels for every product of the recurrence (define RNN_AVX512; Gemm512.swift);
// - x86-64-v3 (AVX2 + FMA) otherwise: without it SIMD FMA lowers to libm calls and gate math runs
//   ~37x slower (docs/PLATFORM.md); the big products stay on OpenBLAS.
// RNN_ARCH=x86-64-v3 or x86-64-v4 overrides the detection (e.g. to build for another machine);
// RNN_PORTABLE=1 builds baseline x86-64 binaries (slower, but they run on CPUs without AVX2).
// -fno-math-errno lets Float.squareRoot (a C shim in the standard library) become vsqrtps instead
// of eight checked scalar roots: Adam 15 -> 4 ms per step on the IMDB classifier (sqrt is exact
// either way, so results do not change).
func buildArch() -> String? {
    #if !arch(x86_64)
    return nil
    #else
    if Context.environment["RNN_PORTABLE"] == "1" { return nil }
    if let arch = Context.environment["RNN_ARCH"], !arch.isEmpty { return arch }
    let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
        .split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").map(String.init) ?? []
    let v4 = ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"].allSatisfy(flags.contains)
    return v4 ? "x86-64-v4" : "x86-64-v3"
    #endif
}
let arch = buildArch()
let numericFlags: [SwiftSetting] = arch.map { arch in
    [.unsafeFlags(["-Xcc", "-march=\(arch)", "-Xcc", "-fno-math-errno"])] +
        (arch == "x86-64-v4" ? [.define("RNN_AVX512")] : arch == "x86-64-v3" ? [.define("RNN_AVX2")] : [])
} ?? []
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
                      swiftSettings: numericFlags, linkerSettings: staticRuntime)
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

        // Libraries: all logic lives here.
        .target(name: "RNNCore", dependencies: ["CZlib"], swiftSettings: release),
        .target(name: "RNNText", dependencies: ["RNNCore", "CPCRE2"], swiftSettings: release),
        .target(name: "RNNEngine", dependencies: ["RNNCore", "COpenBLAS"], swiftSettings: numericFlags + release),
        .target(name: "RNNTrain", dependencies: ["RNNCore", "RNNText", "RNNEngine", "RNNMPI"], swiftSettings: numericFlags + release),
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
                          swiftSettings: numericFlags + release),

        // Tests (no PyTorch needed: reference tensors are committed fixtures).
        .testTarget(name: "RNNCoreTests", dependencies: ["RNNCore"]),
        .testTarget(name: "RNNTextTests", dependencies: ["RNNCore", "RNNText"]),
        .testTarget(name: "RNNEngineTests", dependencies: ["RNNCore", "RNNEngine"],
                    resources: [.copy("Fixtures")], swiftSettings: numericFlags),
        .testTarget(name: "RNNTrainTests", dependencies: ["RNNCore", "RNNText", "RNNEngine", "RNNTrain", "RNNFuzz", "RNNMPI"]),
        .testTarget(name: "RNNTrainCLITests", dependencies: ["RNNCore", "RNNTrain", "RNNTrainCLI"]),
        .testTarget(name: "CLITests", dependencies: ["RNNCore"]),
    ]
)
