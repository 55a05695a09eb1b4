import Foundation

/// The precision a run trains at, and why.
public struct PrecisionChoice: Equatable, Sendable {
    /// `float32` or `bfloat16`.
    public var precision: ComputePrecision
    /// One sentence: what was chosen and the figures that chose it.
    public var reason: String
}

/// How `quill train` picks its precision when `--precision` is not given: the faster of the two
/// kinds of matrix product on this CPU, timed once at start.
///
/// bfloat16 products are not faster everywhere they run. On an AMD EPYC with AVX-512 BF16, 2 x 512
/// trained about twice as fast in bfloat16 as in float32; on an Intel Xeon of model 207 (Emerald
/// Rapids) float32 trained about 1.4 times as fast as bfloat16, because that CPU retires one
/// `vdpbf16ps` every two cycles against two float32 fused multiply-adds a cycle (BENCHMARKS.md).
/// No CPU flag tells the two apart, so the rule times the product that dominates a training step,
/// the recurrent one of 2 x 512 (`[32, 512] x [512, 2048]`), in each kernel on one thread: the
/// fastest of `repetitions` runs each, some 20 ms in all. It times kernels, not the run's model, so
/// the choice is the CPU's and the same from one start to the next (a tiny model's step is too
/// short to time apart). bfloat16, the earlier default, is kept unless float32 is at least
/// `float32Margin` times as fast, so two nearly equal speeds do not choose differently from one
/// start to the next. Without AVX-512 BF16 there is nothing to time: float32 runs.
///
/// Under several ranks every rank takes rank 0's figures, so all of them choose alike.
public enum PrecisionRule {
    /// How much faster float32's product must be than bfloat16's for float32 to be chosen.
    public static let float32Margin = 1.15
    /// Timed runs of each kernel; the fastest counts.
    public static let repetitions = 12

    /// The choice given the two kernels' speeds, in the same unit.
    public static func decide(float32: Double, bfloat16: Double) -> ComputePrecision {
        float32 >= float32Margin * bfloat16 ? .float32 : .bfloat16
    }

    /// Billions of multiply-adds a second of one thread's float32 and bfloat16 products on this CPU,
    /// measured on the first call and kept; nil without AVX-512 BF16.
    public static let kernelSpeeds: (float32: Double, bfloat16: Double)? = measureKernels()

    /// The precision to train at, and why.
    public static func choose(communicator: Communicator = SingleProcess()) -> PrecisionChoice {
        var speeds = kernelSpeeds
        if communicator.size > 1 {
            // Every rank makes the same three calls, whatever its own CPU has.
            let available = communicator.broadcast(speeds == nil ? 0 : 1) == 1
            let float32 = communicator.broadcast(speeds?.float32 ?? 0), bfloat16 = communicator.broadcast(speeds?.bfloat16 ?? 0)
            speeds = available ? (float32, bfloat16) : nil
        }
        guard let speeds else {
            return PrecisionChoice(precision: .float32, reason: "float32: this CPU has no AVX-512 BF16 for bfloat16 products")
        }
        let chosen = decide(float32: speeds.float32, bfloat16: speeds.bfloat16)
        let comparison = chosen == .float32
            ? String(format: "at least %.2f times", float32Margin)
            : String(format: "not %.2f times", float32Margin)
        let reason = String(format: "%@: this CPU's float32 products ran %.2f times as fast as its bfloat16 ones (%.1f and %.1f billion multiply-adds a second on one thread, timed at start), %@ (--precision sets it)",
                            chosen.rawValue, speeds.float32 / max(speeds.bfloat16, 1e-9), speeds.float32, speeds.bfloat16,
                            comparison)
        return PrecisionChoice(precision: chosen, reason: reason)
    }

    private static func measureKernels() -> (float32: Double, bfloat16: Double)? {
        guard ComputePrecision.bfloat16Available, Float32Kernels.isAvailable else { return nil }
        let (m, k, n) = (32, 512, 2048)
        var random = QuillRandom(seed: 1)
        let a = (0..<(m * k)).map { _ in random.nextUnitFloat() - 0.5 }
        let b = (0..<(n * k)).map { _ in random.nextUnitFloat() - 0.5 }
        var c = [Float](repeating: 0, count: m * n)
        let rightF32 = PackedFloat32(right: n, k: k)
        let rightBF16 = PackedBFloat16(right: n, k: k)
        let leftBF16 = PackedBFloat16(left: m, k: k)
        b.withUnsafeBufferPointer { b in
            rightF32.pack(b.baseAddress!, rowStride: k, columnStride: 1)
            rightBF16.packRight(b.baseAddress!, rowStride: k, columnStride: 1, n: n, k: k)
        }
        func fastest(_ product: () -> Void) -> Double {
            product()  // untimed: first touches
            var best = Double.infinity
            for _ in 0..<repetitions {
                let stopwatch = Stopwatch()
                product()
                best = min(best, stopwatch.seconds)
            }
            return Double(m * n * k) / max(best, 1e-9) / 1e9
        }
        return a.withUnsafeBufferPointer { a in
            c.withUnsafeMutableBufferPointer { c in
                let float32 = fastest {
                    Float32Kernels.gemm(m: m, n: n, k: k, a: a.baseAddress!, lda: k, b: rightF32, beta: 0,
                                        c: c.baseAddress!, ldc: n)
                }
                // The left operand is packed per product in training, so its packing counts.
                let bfloat16 = fastest {
                    BFloat16Kernels.packLeft(a.baseAddress!, rowStride: k, columnStride: 1, m: m, k: k, into: leftBF16)
                    BFloat16Kernels.gemm(m: m, n: n, k: k, a: leftBF16, b: rightBF16, beta: 0, c: c.baseAddress!, ldc: n)
                }
                return (float32, bfloat16)
            }
        }
    }
}
