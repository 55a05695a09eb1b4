// swift-tools-version:6.1
import Foundation
import PackageDescription

/// Where Quill comes from: `QUILL_URL` (scripts/check-consumer.sh points it at a tagged clone),
/// else the repository this example sits in, as a local git URL.
let quillURL = Context.environment["QUILL_URL"]
    ?? "file://" + URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().deletingLastPathComponent().path

let package = Package(
    name: "QuillExample",
    dependencies: [
        .package(url: quillURL, from: "0.1.0"),
    ],
    targets: [
        .executableTarget(
            name: "QuillExample",
            dependencies: [.product(name: "Quill", package: "quill")]
        ),
    ],
    swiftLanguageModes: [.v5]
)
