import ArgumentParser
import Foundation
import Quill

/// A size in bytes given as `512M`, `8G`, `1.5T` or a plain number of bytes.
struct ByteSize: ExpressibleByArgument, Equatable {
    var bytes: Double

    init(bytes: Double) { self.bytes = bytes }

    init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces).uppercased()
        var number = Substring(text)
        var scale = 1.0
        for (suffix, factor) in [("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3), ("B", 1)]
        where number.hasSuffix(suffix) {
            number = number.dropLast(suffix.count)
            scale = factor
            break
        }
        guard let value = Double(number), value.isFinite, value > 0, value * scale >= 1 else { return nil }
        bytes = value * scale
    }
}

/// The memory bound shared by the commands that allocate by the size of a model.
struct MemoryOptions: ParsableArguments {
    @Option(name: .customLong("max-memory"), help: ArgumentHelp(
        "Refuse work estimated to need more memory than this, such as 4G or 512M (default: the machine's physical memory).",
        valueName: "size"))
    var maxMemory: ByteSize?

    /// Throws a sentence naming the flags to change when `estimate` exceeds `--max-memory` or the machine's memory.
    func check(_ estimate: MemoryEstimate) throws {
        do {
            try estimate.check(limit: maxMemory?.bytes)
        } catch let error as MemoryEstimateError {
            throw CommandError(error.description(limitName: "what --max-memory allows") { largest in
                switch largest {
                case "training windows": return "use a smaller --batch or --seq, or a smaller model"
                case "scoring windows": return "use a smaller --batch"
                case "sampling batch": return "use fewer --samples"
                case "corpus", "text": return "use a smaller corpus"
                default: return "use a smaller --hidden, --layers or --embed, or a model with a smaller vocabulary"
                }
            })
        }
    }
}
