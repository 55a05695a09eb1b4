import _QuillKernels

/// The precision a run trains at, and why.
public struct PrecisionChoice: Equatable, Sendable {
    /// `float32` or `bfloat16`.
    public var precision: ComputePrecision
    /// One sentence: what was chosen and why.
    public var reason: String
}

/// How `quill train` picks its precision when `--precision` is not given: from what the CPU is, so
/// one command on one machine always trains the same bits.
///
/// bfloat16 products are not faster everywhere they run (BENCHMARKS.md):
/// - On an AMD EPYC (Zen 5) with AVX-512 BF16, 2 x 512 trained about twice as fast in bfloat16 as in
///   float32: its `vdpbf16ps` does twice the multiply-adds of a float32 fused multiply-add at the
///   same rate.
/// - On an Intel Xeon of model 207 (Emerald Rapids), float32 trained about 1.4 times as fast as
///   bfloat16: that core retires one `vdpbf16ps` every two cycles against two float32 fused
///   multiply-adds a cycle. Sapphire Rapids has the same cores; Intel's other AVX-512 BF16 CPUs
///   are not measured.
///
/// So bfloat16 is chosen on an AMD CPU with AVX-512 BF16, and float32 everywhere else: float32 is
/// exact, and where bfloat16 is not known to be faster it is the safer of the two.
///
/// An earlier rule timed both kernels at start. That made the choice depend on how busy the
/// machine was: under load the measured ratio on the Xeon fell from 1.72 to 1.39, near the margin,
/// and two starts of one command could train in different precisions. The CPU's vendor and flags
/// do not change between starts. `quill bench throughput --precision` times the two on a machine.
///
/// Under several ranks every rank takes rank 0's choice, so all of them train alike.
public enum PrecisionRule {
    /// The CPU's vendor name from CPUID ("GenuineIntel", "AuthenticAMD", ...); empty where there is none.
    public static let cpuVendor: String = {
        var name = [CChar](repeating: 0, count: 13)
        quill_cpu_vendor(&name)
        return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    /// The choice for a CPU with or without AVX-512 BF16, of the vendor named.
    public static func decide(bfloat16Available: Bool, vendor: String) -> ComputePrecision {
        bfloat16Available && vendor == "AuthenticAMD" ? .bfloat16 : .float32
    }

    /// The precision to train at, and why.
    public static func choose(communicator: Communicator = SingleProcess()) -> PrecisionChoice {
        let available = ComputePrecision.bfloat16Available, vendor = cpuVendor
        var chosen = decide(bfloat16Available: available, vendor: vendor)
        if communicator.size > 1 {
            // Every rank makes this one call, whatever its own CPU is.
            chosen = communicator.broadcast(chosen == .bfloat16 ? 1 : 0) == 1 ? .bfloat16 : .float32
            if !communicator.isRoot {
                return PrecisionChoice(precision: chosen, reason: "\(chosen.rawValue): rank 0's choice, so every rank trains alike")
            }
        }
        let shown = vendor.isEmpty ? "this CPU" : "this \(vendor) CPU"
        let why: String
        switch (chosen, available) {
        case (.bfloat16, _):
            why = "\(shown) runs AVX-512 BF16 products at the rate of its float32 ones, with twice the multiply-adds each"
        case (_, false):
            why = "\(shown) has no AVX-512 BF16 for bfloat16 products"
        default:
            why = "\(shown) has AVX-512 BF16, but bfloat16 products are measured faster only on AMD's (on Intel's they run at half rate)"
        }
        return PrecisionChoice(precision: chosen, reason: "\(chosen.rawValue): \(why) (--precision sets it)")
    }
}
