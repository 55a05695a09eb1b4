/// How an engine multiplies by the LSTM weights, chosen once when the engine is built.
///
/// `LayerWeights` holds the copies of the weights a strategy reads and runs every product with
/// it; nothing else in the engine asks which arithmetic runs.
enum ProductStrategy: Equatable, Sendable {
    /// Both operands rounded to bfloat16, fp32 accumulation (AVX-512 BF16); the weights packed once per change.
    case bfloat16
    /// fp32: the per-step products against `W_hh` packed once per change (AVX-512F, or AVX2 with FMA), the window products in OpenBLAS.
    case packedFloat32
    /// fp32: every product in OpenBLAS, the weights read where they are.
    case blas

    /// The strategy for `precision` on this CPU.
    init(precision: ComputePrecision) {
        switch precision.effective {
        case .bfloat16: self = .bfloat16
        case .float32: self = Float32Kernels.isAvailable ? .packedFloat32 : .blas
        }
    }

    /// The precision the strategy computes in.
    var precision: ComputePrecision { self == .bfloat16 ? .bfloat16 : .float32 }
}

/// What an engine does with its layers: decides which packed copies of the weights exist.
enum EngineUse: Sendable {
    /// Forward and backward over windows (adds the transposed weights the backward products read).
    case training
    /// Forward only, activations not kept (adds the joined `[W_ih | W_hh]` of a single bfloat16 step).
    case inference
}
