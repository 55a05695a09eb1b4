// swift-tools-version:6.1
import PackageDescription

/// Release builds of the numeric core are compiled without bounds and overflow
/// checks in the hot loops that already work on unsafe buffer pointers.
let quillSwiftSettings: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release)),
]

let package = Package(
    name: "Quill",
    products: [
        .executable(name: "quill", targets: ["QuillCLI"]),
        .library(name: "Quill", targets: ["Quill"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
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
            cSettings: [.unsafeFlags(["-O3", "-ffp-contract=off"])]
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
            name: "QuillCommands",
            dependencies: [
                "Quill",
                "QuillDistributed",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
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
            name: "QuillCommandsTests",
            dependencies: ["QuillCommands", "Quill"]
        ),
    ],
    swiftLanguageModes: [.v5]
)
