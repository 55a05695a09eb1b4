import Foundation

/// The committed inputs of the fuzz targets in Fuzz/: seed corpora and the reproducers of fixed findings.
enum FuzzInputs {
    /// The repository's Fuzz/ folder, found from this file's path.
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // FuzzRegressions
        .deletingLastPathComponent()  // QuillTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    /// A reproducer that fuzzing found, kept in Fuzz/<target>/regressions/.
    static func reproducer(_ target: String, _ name: String) -> URL {
        folder.appendingPathComponent(target).appendingPathComponent("regressions").appendingPathComponent(name)
    }

    /// The seed files of a target, in name order.
    static func seeds(_ target: String) throws -> [URL] {
        let seeds = folder.appendingPathComponent(target).appendingPathComponent("seeds")
        return try FileManager.default.contentsOfDirectory(at: seeds, includingPropertiesForKeys: nil)
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }
}
