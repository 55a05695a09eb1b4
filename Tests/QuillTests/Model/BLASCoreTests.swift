import Foundation
import XCTest
import _QuillKernels
@testable import Quill

/// OpenBLAS's choice of kernels, corrected at load time where it fell back to SSE3 (`blas_core.c`).
final class BLASCoreTests: XCTestCase {
    /// The rule alone, on every case it distinguishes.
    func testOnlyTheSSE3FallbackIsReplacedAndTheUserDecides() {
        func core(_ detected: String?, user: Bool = false, bf16: Bool = false, avx512: Bool = false, avx2: Bool = false,
                  has: (@convention(c) (UnsafePointer<CChar>?) -> Int32)? = { _ in 1 }) -> String? {
            let chosen: UnsafePointer<CChar>? = detected.map { name in
                name.withCString { quill_blas_core_for($0, user ? 1 : 0, bf16 ? 1 : 0, avx512 ? 1 : 0, avx2 ? 1 : 0, has) }
            } ?? quill_blas_core_for(nil, user ? 1 : 0, bf16 ? 1 : 0, avx512 ? 1 : 0, avx2 ? 1 : 0, has)
            return chosen.map { String(cString: $0) }
        }
        XCTAssertEqual(core("Prescott", bf16: true, avx512: true, avx2: true), "Cooperlake")
        XCTAssertEqual(core("prescott", avx512: true, avx2: true), "SkylakeX")
        XCTAssertEqual(core("Prescott", avx2: true), "Haswell")
        XCTAssertNil(core("Prescott"), "a CPU without AVX2 and FMA is what Prescott's kernels are for")
        XCTAssertNil(core("Prescott", user: true, bf16: true, avx512: true, avx2: true), "OPENBLAS_CORETYPE decides")
        XCTAssertNil(core("Haswell", bf16: true, avx512: true, avx2: true), "a core OpenBLAS recognized stands")
        XCTAssertNil(core(nil, bf16: true, avx512: true, avx2: true), "a BLAS that names no core is left alone")
        // A library without a core's table falls to the next one it has.
        XCTAssertEqual(core("Prescott", bf16: true, avx512: true, avx2: true,
                            has: { strcmp($0!, "gotoblas_COOPERLAKE") == 0 ? 0 : 1 }), "SkylakeX")
        XCTAssertNil(core("Prescott", bf16: true, avx512: true, avx2: true, has: { _ in 0 }))
    }

    /// In this process: unless the environment chose, OpenBLAS runs kernels that use the CPU's
    /// vector instructions, and the note says so exactly when Quill replaced OpenBLAS's choice.
    /// Debian 12's OpenBLAS (0.3.21) chooses Prescott on an Emerald Rapids Xeon without the
    /// correction, so there this test fails without it.
    func testOpenBLASRunsVectorKernelsOnAVX2CPUs() throws {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil else {
            throw XCTSkip("OPENBLAS_CORETYPE is set, and it decides")
        }
        guard let core = BLAS.core else { throw XCTSkip("the BLAS linked does not name its kernels") }
        guard quill_avx2_fma_supported() == 1 else { throw XCTSkip("no AVX2 with FMA on this CPU") }
        XCTAssertNotEqual(core.lowercased(), "prescott")
        if let note = BLAS.coreNote {
            XCTAssertTrue(note.contains("(Prescott)") && note.contains(core), note)
        }
        // Products still right with the kernels chosen: a small one against a Double reference.
        var random = QuillRandom(seed: 3)
        let (m, n, k) = (37, 29, 53)
        let a = (0..<(m * k)).map { _ in 2 * random.nextUnitFloat() - 1 }
        let b = (0..<(k * n)).map { _ in 2 * random.nextUnitFloat() - 1 }
        var c = [Float](repeating: 0, count: m * n)
        BLAS.gemm(transposeA: false, transposeB: false, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, beta: 0, c: &c, ldc: n)
        for i in 0..<m {
            for j in 0..<n {
                let exact = (0..<k).reduce(0.0) { $0 + Double(a[i * k + $1]) * Double(b[$1 * n + j]) }
                XCTAssertEqual(Double(c[i * n + j]), exact, accuracy: 1e-4)
            }
        }
    }
}
