import Foundation

/// Stops the fuzzer with a message when a property of the code under test does not hold.
///
/// libFuzzer treats the abort as a crash and saves the input that caused it, so a broken
/// property is reported exactly as a trap or a memory error would be.
func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    guard condition() else {
        FileHandle.standardError.write(Data("fuzz property failed: \(message())\n".utf8))
        abort()
    }
}

/// The input bytes libFuzzer passes, as an array (empty when the pointer is nil).
func fuzzInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> [UInt8] {
    guard let start, count > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: start, count: count))
}
