import Foundation

/// Small, deterministic corpora and folders for end-to-end runs of the binary.
enum TestCorpus {
    /// A fresh temporary folder, removed when the test case ends.
    static func folder(_ name: String = "quill") -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Pseudo-English text of about `characters` characters in documents separated by `%` lines, from a fixed seed.
    static func text(characters: Int, seed: UInt64 = 1) -> String {
        let words = ["the", "king", "and", "queen", "of", "a", "river", "said", "unto", "them", "light", "was",
                     "good", "night", "day", "it", "is", "in", "my", "heart", "O", "love", "fair", "thou"]
        var state = seed
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(state >> 33)
        }
        var out = ""
        var line = 0
        while out.count < characters {
            var sentence: [String] = []
            for _ in 0..<(3 + next() % 8) { sentence.append(words[next() % words.count]) }
            out += sentence.joined(separator: " ").capitalizedFirst + (next() % 3 == 0 ? "!\n" : ".\n")
            line += 1
            if line % 12 == 0 { out += "%\n" }
        }
        return out
    }

    /// Writes `text(characters:)` to a file in `folder` and returns its path.
    static func file(in folder: URL, characters: Int, name: String = "corpus.txt") -> String {
        let url = folder.appendingPathComponent(name)
        try! text(characters: characters).write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }
}

extension String {
    var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}

extension QuillBinary.Result {
    /// True when stderr shows a crash rather than a sentence.
    var crashed: Bool {
        stderr.contains("Fatal error") || stderr.contains("Crash") || stderr.contains("Backtrac") || status >= 128
    }
}
