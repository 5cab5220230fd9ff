// swift-tools-version:6.1
import PackageDescription

// C kernels are compiled optimised even in debug builds: the test suite runs the real model,
// and -O0 loops would make that minutes instead of seconds. Floating-point contraction is off
// so that dequantization is bit-identical to the reference (numpy computes d*q + m unfused).
let kernelFlags: [CSetting] = [.unsafeFlags(["-O3", "-ffp-contract=off", "-fno-math-errno"])]

let package = Package(
    name: "Jarvis",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "jarvis-run", targets: ["jarvis-run"]),
        .executable(name: "jarvis-bench", targets: ["jarvis-bench"]),
        .executable(name: "jarvisd", targets: ["jarvisd"]),
        .executable(name: "jarvisctl", targets: ["jarvisctl"]),
        .library(name: "JarvisEngine", targets: ["JarvisEngine"]),
        .library(name: "JarvisImage", targets: ["JarvisImage"]),
        .library(name: "JarvisStore", targets: ["JarvisStore"]),
        .library(name: "JarvisMemory", targets: ["JarvisMemory"]),
        .library(name: "JarvisProtocol", targets: ["JarvisProtocol"]),
        .library(name: "JarvisClient", targets: ["JarvisClient"]),
        .library(name: "JarvisDaemon", targets: ["JarvisDaemon"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // The official Model Context Protocol SDK, for `jarvisctl mcp` only (JarvisMCP).
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk", exact: "0.12.1"),
    ],
    targets: [
        // System libraries, found through pkg-config; scripts/setup installs the Debian packages.
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CLMDB", pkgConfig: "lmdb", providers: [.apt(["liblmdb-dev"])]),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        // Line editing and history for `jarvisctl chat` (BSD libedit, readline-compatible calls).
        .systemLibrary(name: "CEditLine", pkgConfig: "libedit", providers: [.apt(["libedit-dev"])]),

        // Scalar and SIMD kernels that are not matrix products (those go to BLAS).
        .target(name: "CJarvisKernels", cSettings: kernelFlags),

        .target(name: "CJarvisChecksum", cSettings: kernelFlags),

        // Our shim over libjpeg-turbo and libpng (system libraries; scripts/setup installs
        // libjpeg62-turbo-dev and libpng-dev): size limits before allocation, errors caught.
        .target(name: "CJarvisImage", cSettings: kernelFlags,
                linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png16")]),

        // Photos in and out: JPEG/PNG decoding with limits and EXIF orientation, PNG encoding,
        // regions drawn for people. Shared by the engine and jarvisctl.
        .target(name: "JarvisImage", dependencies: ["CJarvisImage"]),

        // The wire contract (Protocol/PROTOCOL.md); depends on nothing else of ours.
        .target(name: "JarvisProtocol"),

        .target(
            name: "JarvisEngine",
            dependencies: ["COpenBLAS", "CJarvisKernels", "JarvisImage"]
        ),
        .target(
            name: "JarvisStore",
            dependencies: ["CLMDB", "CJarvisChecksum"]
        ),
        .target(
            name: "JarvisMemory",
            dependencies: ["JarvisEngine", "JarvisImage", "JarvisStore", "CJarvisChecksum", "COpenBLAS"]
        ),
        // A blocking client of the protocol: jarvisctl, the bench and the tests use it.
        .target(name: "JarvisClient", dependencies: ["JarvisProtocol"]),
        // `jarvisctl mcp`: a Model Context Protocol server over stdio that forwards to jarvisd.
        // The only target that depends on the MCP SDK.
        .target(
            name: "JarvisMCP",
            dependencies: ["JarvisClient", "JarvisProtocol", .product(name: "MCP", package: "swift-sdk"),
                           .product(name: "Logging", package: "swift-log")]
        ),
        // The server: socket, requests, the inference queue, systemd glue, configuration.
        .target(
            name: "JarvisDaemon",
            dependencies: ["JarvisMemory", "JarvisImage", "JarvisProtocol", "CSystemd",
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]
        ),
        .executableTarget(
            name: "jarvisd",
            dependencies: ["JarvisDaemon", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "jarvisctl",
            dependencies: ["JarvisClient", "JarvisProtocol", "JarvisImage", "JarvisMCP", "CEditLine",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "jarvis-run",
            dependencies: ["JarvisEngine", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "jarvis-bench",
            dependencies: ["JarvisEngine", "JarvisImage", "JarvisStore", "JarvisMemory", "JarvisClient",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(
            name: "JarvisEngineTests",
            dependencies: ["JarvisEngine", "JarvisImage"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "JarvisImageTests",
            dependencies: ["JarvisImage"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "JarvisStoreTests",
            dependencies: ["JarvisStore", "CJarvisChecksum"]
        ),
        .testTarget(
            name: "JarvisProtocolTests",
            dependencies: ["JarvisProtocol"]
        ),
        .testTarget(
            name: "JarvisMemoryTests",
            dependencies: ["JarvisMemory", "JarvisEngine", "JarvisImage", "JarvisStore"]
        ),
        .testTarget(
            name: "JarvisDaemonTests",
            dependencies: ["JarvisDaemon", "JarvisClient", "JarvisProtocol"]
        ),
        .testTarget(
            name: "JarvisMCPTests",
            dependencies: ["JarvisMCP", "JarvisProtocol", .product(name: "MCP", package: "swift-sdk")]
        ),
        // Start the real jarvisd and run the real jarvisctl (both built beside the tests).
        .testTarget(
            name: "JarvisEndToEndTests",
            dependencies: ["JarvisClient", "JarvisEngine", "JarvisImage", "JarvisProtocol", "JarvisStore"],
            exclude: ["Snapshots", "Integrations"]
        ),
    ]
)

// libFuzzer targets, only when scripts/fuzz builds them (JARVIS_FUZZ=1, -sanitize=fuzzer):
// libFuzzer supplies their main, so an ordinary build could not link them.
if Context.environment["JARVIS_FUZZ"] == "1" {
    for (name, module) in [("fuzz-protocol", "JarvisProtocol"), ("fuzz-gguf", "JarvisEngine"), ("fuzz-safetensors", "JarvisEngine"),
                         ("fuzz-image", "JarvisImage"), ("fuzz-onnx", "JarvisEngine")] {
        package.targets.append(.executableTarget(name: name, dependencies: [.target(name: module)], path: "Fuzz/\(name)",
                                                 swiftSettings: [.unsafeFlags(["-parse-as-library"])]))
    }
}

