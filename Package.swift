// swift-tools-version:6.1
import PackageDescription

import Foundation

/// True when this package is built as another package's dependency (checked out by the package
/// manager), where unsafe flags are refused; `QUILL_SAFE_FLAGS=1` asks for the same build here.
let builtAsDependency = Context.packageDirectory.contains("/checkouts/")
    || Context.environment["QUILL_SAFE_FLAGS"] == "1"

/// Release builds of the numeric core are compiled without bounds and overflow
/// checks in the hot loops that already work on unsafe buffer pointers. As a dependency the
/// package manager's own release flags apply (`-O`, whole-module); the results are the same bits.
let quillSwiftSettings: [SwiftSetting] = builtAsDependency ? [] : [
    .unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release)),
]

/// The C kernels are optimized even in debug builds (the tests run them). `#pragma STDC FP_CONTRACT OFF`
/// in each file keeps products unfused with any flags, so a dependency build gives the same bits.
let kernelCSettings: [CSetting] = builtAsDependency ? [] : [.unsafeFlags(["-O3", "-ffp-contract=off"])]

let package = Package(
    name: "Quill",
    products: [
        .executable(name: "quill", targets: ["QuillCLI"]),
        .library(name: "Quill", targets: ["Quill"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // The HTTP server of `quill serve`; only QuillServer (and the command line) link it.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // Already in the graph through Hummingbird; the server's own channel handler names NIOCore.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // `swift package generate-documentation --target Quill` (a plugin: builds nothing otherwise).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CUTF8Proc",
            pkgConfig: "libutf8proc",
            providers: [.apt(["libutf8proc-dev"])]
        ),
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CMPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]
        ),
        .target(
            name: "_QuillKernels",
            cSettings: kernelCSettings
        ),
        .target(
            name: "Quill",
            dependencies: ["CUTF8Proc", "CBLAS", "_QuillKernels"],
            swiftSettings: quillSwiftSettings
        ),
        .target(
            name: "QuillDistributed",
            dependencies: ["Quill", "CMPI"],
            swiftSettings: quillSwiftSettings
        ),
        .target(
            name: "QuillServer",
            dependencies: [
                "Quill",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: quillSwiftSettings
        ),
        .target(
            name: "QuillCommands",
            dependencies: [
                "Quill",
                "QuillDistributed",
                "QuillServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: quillSwiftSettings
        ),
        .executableTarget(
            name: "QuillCLI",
            dependencies: ["QuillCommands"],
            swiftSettings: quillSwiftSettings
        ),
        .testTarget(
            name: "QuillTests",
            dependencies: ["Quill"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "QuillServerTests",
            dependencies: [
                "QuillServer", "Quill",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "QuillCommandsTests",
            dependencies: ["QuillCommands", "Quill"]
        ),
    ],
    swiftLanguageModes: [.v5]
)
