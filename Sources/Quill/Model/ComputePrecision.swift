import Foundation

/// The arithmetic the engines use for their matrix products.
///
/// `float32` multiplies in single precision through BLAS; it is what the gradient check and the
/// parity tests run. `bfloat16` rounds both operands of the big products to bfloat16 (8 bits of
/// mantissa) and accumulates in single precision with the CPU's pair dot-product instruction
/// (AVX-512 BF16); the fp32 master weights are never rounded. Element-wise work (gates, softmax,
/// the optimizer) stays in single precision either way. On a CPU without AVX-512 BF16,
/// `bfloat16` falls back to `float32`.
public enum ComputePrecision: String, CaseIterable, Sendable, Codable {
    case float32
    case bfloat16

    /// Whether the bfloat16 kernels can run on this CPU.
    public static var bfloat16Available: Bool { BFloat16Kernels.isAvailable }

    /// The precision that will actually run: `bfloat16` only where the CPU supports it.
    public var effective: ComputePrecision {
        self == .bfloat16 && Self.bfloat16Available ? .bfloat16 : .float32
    }
}
