import CUTF8Proc
import Foundation
@testable import Quill

/// Fuzz target: strict UTF-8 decoding and normalization, through the corpus encoder as a
/// user's text file goes (`CorpusEncoder.encode` on one file, one document).
///
/// Input: the first byte picks the options (bits 0-1 the normalization form, bit 2 case
/// folding) and the read size (bits 3-7: 4 to 35 bytes, so pieces end inside characters);
/// the other bytes are the file.
///
/// It runs pass 1 of the encoder (`CorpusEncoder.scalarValues`: reading, the byte-order mark,
/// the binary check, strict UTF-8, normalization); pass 2 only maps the scalars to ids.
/// The expected outcome comes from an independent reference: Swift's own UTF-8 validation
/// and one `utf8proc_map` call over the whole text. A file with a NUL byte, or mostly control
/// bytes at its start, is refused as binary; else invalid UTF-8 is refused at the offset of
/// the first bad sequence; else an empty file is refused; else the encoded scalars equal
/// utf8proc's normalization of the whole text, read in small pieces or in one.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzUTF8Normalize(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = fuzzInput(start, count)
    guard let control = input.first else { return 0 }
    let forms: [NormalizationForm] = [.nfc, .nfd, .nfkc, .nfkd]
    let options = TextOptions(form: forms[Int(control & 3)], caseFold: control & 4 != 0)
    let chunkSize = 4 + Int(control >> 3)
    let text = Array(input.dropFirst())

    let url = FuzzFile.url
    FuzzFile.write(text)
    let source = CorpusSource(paths: [url])
    let wholeSize = max(text.count, 1 << 14)  // one read of the whole file
    let small = Result { try CorpusEncoder.scalarValues(source, options: options, chunkSize: chunkSize, progress: nil) }
    let whole = Result { try CorpusEncoder.scalarValues(source, options: options, chunkSize: wholeSize, progress: nil) }
    check(small, text: text, options: options, chunkSize: chunkSize)
    check(whole, text: text, options: options, chunkSize: wholeSize)
    return 0
}

/// The per-process file the input is written to, in shared memory when there is some.
enum FuzzFile {
    static let url: URL = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? URL(fileURLWithPath: "/dev/shm")
            : FileManager.default.temporaryDirectory
        let folder = base.appendingPathComponent("quill-fuzz-\(getpid())")
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: FuzzFile.url.deletingLastPathComponent()) }
        return folder.appendingPathComponent("corpus.txt")
    }()

    /// Replaces the file's contents with `bytes` (plain POSIX calls: no sync, nothing else).
    static func write(_ bytes: [UInt8]) {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        require(fd >= 0, "cannot open \(url.path): errno \(errno)")
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + done, $0.count - done) }
            require(n > 0, "cannot write \(url.path): errno \(errno)")
            done += n
        }
    }
}

/// Checks one encoding of `text` against the reference outcome.
private func check(_ result: Result<CorpusEncoder.ScalarPass, Error>, text: [UInt8], options: TextOptions, chunkSize: Int) {
    let bom = text.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
    let body = Array(text[bom...])
    let firstChunk = text.prefix(max(chunkSize, 4))
    let binary = text.contains(0) || firstChunk.withUnsafeBufferPointer { ChunkedFileReader.looksBinary($0) }

    if binary {
        guard case let .failure(error) = result else { return require(false, "a binary file was accepted") }
        switch error as? TokenizerError {
        case .binaryFile?: return
        case let .invalidUTF8(_, offset, _)?:
            // Invalid bytes before the first NUL may be reported first.
            let nul = text.firstIndex(of: 0) ?? text.count
            require(offset < nul && String(validating: text[bom..<offset], as: UTF8.self) != nil,
                    "a binary file refused at offset \(offset), which is not its first invalid byte")
        default: require(false, "a binary file refused with an unexpected error: \(error)")
        }
        return
    }
    if String(validating: body, as: UTF8.self) == nil {
        guard case let .failure(error) = result, case let .invalidUTF8(_, offset, bytes)? = error as? TokenizerError else {
            return require(false, "invalid UTF-8 not refused as such: \(result)")
        }
        require(offset >= bom && offset < text.count, "invalid UTF-8 reported at offset \(offset) outside the file")
        require(String(validating: text[bom..<offset], as: UTF8.self) != nil, "the bytes before the reported offset \(offset) are not all valid")
        require(!bytes.isEmpty && text[offset...].starts(with: bytes.prefix(1)), "the reported bytes \(bytes) are not at offset \(offset)")
        require((1...4).allSatisfy { String(validating: text[offset...].prefix($0), as: UTF8.self) == nil },
                "a valid character starts at the reported offset \(offset)")
        return
    }
    if body.isEmpty {
        guard case let .failure(error) = result, case .emptyCorpus? = error as? TokenizerError else {
            return require(false, "an empty file not refused as empty: \(result)")
        }
        return
    }
    let pass: CorpusEncoder.ScalarPass
    switch result {
    case let .success(value): pass = value
    case let .failure(error): return require(false, "valid text refused: \(error)")
    }
    let expected = referenceNormalization(body, options: options)
    let marker = DocumentStream.documentMarker
    let values = pass.stream.values
    require(pass.stream.documentCount == 1, "one file gave \(pass.stream.documentCount) documents")
    require(pass.bytes == text.count, "\(pass.bytes) bytes counted of \(text.count)")
    require(values.count == expected.count + 2 && values.first == marker && values.last == marker,
            "the values are not [DOC], the \(expected.count) scalars, [DOC] (read \(chunkSize) bytes at a time)")
    require(zip(values.dropFirst(), expected).allSatisfy { $0 == Int32(bitPattern: $1.value) },
            "normalized scalars differ from utf8proc over the whole text (read \(chunkSize) bytes at a time)")
}

/// The scalars of `text` normalized by one `utf8proc_map` call over all of it.
private func referenceNormalization(_ text: [UInt8], options: TextOptions) -> [Unicode.Scalar] {
    var flags = UTF8PROC_STABLE.rawValue
    switch options.form {
    case .nfc: flags |= UTF8PROC_COMPOSE.rawValue
    case .nfd: flags |= UTF8PROC_DECOMPOSE.rawValue
    case .nfkc: flags |= UTF8PROC_COMPOSE.rawValue | UTF8PROC_COMPAT.rawValue
    case .nfkd: flags |= UTF8PROC_DECOMPOSE.rawValue | UTF8PROC_COMPAT.rawValue
    }
    if options.caseFold { flags |= UTF8PROC_CASEFOLD.rawValue }
    var output: UnsafeMutablePointer<UInt8>?
    let length = text.withUnsafeBufferPointer { utf8proc_map($0.baseAddress, $0.count, &output, utf8proc_option_t(rawValue: flags)) }
    defer { free(output) }
    require(length >= 0, "utf8proc refused valid text: \(String(cString: utf8proc_errmsg(length)))")
    let bytes = UnsafeBufferPointer(start: output, count: length)
    return Array(String(decoding: bytes, as: UTF8.self).unicodeScalars)
}
