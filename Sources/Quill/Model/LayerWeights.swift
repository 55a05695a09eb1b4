/// One LSTM layer's weights, seen where they live and packed as its product strategy reads them,
/// and every matrix product of the layer.
///
/// The packed copies, by strategy and use:
/// - bfloat16: `W_ih` and `W_hh` as right operands of the forward products; for training also
///   `W_ih^T` and `W_hh^T`; for inference also `[W_ih | W_hh]`, for a single step as one product.
/// - packedFloat32: `W_hh` for the per-step products; for training also `W_hh^T`.
/// - blas: none.
///
/// The copies are filled by `pack()` or `pack(job:)` after the weights change; the products
/// read them and allocate nothing.
final class LayerWeights: @unchecked Sendable {
    let strategy: ProductStrategy
    let hiddenSize: Int
    let inputSize: Int
    /// - wih: [4H, in]; whh: [4H, H]; bih, bhh: [4H] (views into the model's parameters).
    let wih: UnsafeMutablePointer<Float>, whh: UnsafeMutablePointer<Float>
    let bih: UnsafeMutablePointer<Float>, bhh: UnsafeMutablePointer<Float>
    /// - biasSum: [4H], `b_ih + b_hh`, refreshed by `pack`.
    let biasSum: FloatBuffer
    /// The `W_hh` every product and packed copy reads: `whh`, or with DropConnect `whh * recurrentMask`.
    private(set) var recurrent: UnsafeMutablePointer<Float>
    /// - dropConnect: [4H, H], `whh * recurrentMask` while DropConnect is on (training only).
    private var dropConnect: FloatBuffer?
    /// - recurrentMask: [4H, H], 0 or 1/(1-p), while DropConnect is on; the gradient of `W_hh` is scaled by it.
    private(set) var recurrentMask: UnsafePointer<Float>?

    /// A packed copy: which product reads it.
    enum Part: Int, CaseIterable {
        /// `W_ih` for `X W_ih^T` (n = 4H, k = in).
        case inputForward
        /// `W_hh` for `h W_hh^T` (n = 4H, k = H).
        case recurrentForward
        /// `W_ih^T` for `dG W_ih` (n = in, k = 4H).
        case inputBackward
        /// `W_hh^T` for `dG W_hh` (n = H, k = 4H).
        case recurrentBackward
        /// `[W_ih | W_hh]` for `[x | h] [W_ih | W_hh]^T` (n = 4H, k = in + H).
        case joined
    }

    /// The copies that exist, in the order `pack(job:)` fills them.
    let parts: [Part]
    /// By `Part.rawValue`: the bfloat16 copies (bfloat16 strategy) or the fp32 ones (packedFloat32).
    private var bfloat16 = [PackedBFloat16?](repeating: nil, count: Part.allCases.count)
    private var float32 = [PackedFloat32?](repeating: nil, count: Part.allCases.count)

    init(model: LanguageModel, layer k: Int, strategy: ProductStrategy, use: EngineUse) {
        let c = model.configuration, w = model.weights
        let slot = model.layout.layerIndex(k)
        self.strategy = strategy
        hiddenSize = c.hiddenSize
        inputSize = c.inputSize(ofLayer: k)
        wih = w.view(at: slot)
        whh = w.view(at: slot + 1)
        bih = w.view(at: slot + 2)
        bhh = w.view(at: slot + 3)
        biasSum = FloatBuffer(count: 4 * c.hiddenSize)
        recurrent = whh
        let h = hiddenSize, n = inputSize
        switch (strategy, use) {
        case (.bfloat16, .training): parts = [.inputForward, .recurrentForward, .inputBackward, .recurrentBackward]
        case (.bfloat16, .inference): parts = [.inputForward, .recurrentForward, .joined]
        case (.packedFloat32, .training): parts = [.recurrentForward, .recurrentBackward]
        case (.packedFloat32, .inference): parts = [.recurrentForward]
        case (.blas, _): parts = []
        }
        for part in parts {
            let (columns, depth) = switch part {
            case .inputForward: (4 * h, n)
            case .recurrentForward: (4 * h, h)
            case .inputBackward: (n, 4 * h)
            case .recurrentBackward: (h, 4 * h)
            case .joined: (4 * h, n + h)
            }
            if strategy == .bfloat16 {
                bfloat16[part.rawValue] = PackedBFloat16(right: columns, k: depth)
            } else {
                float32[part.rawValue] = PackedFloat32(right: columns, k: depth)
            }
        }
    }

    /// The number of independent jobs of a refresh, for `pack(job:)`.
    var packJobs: Int { max(parts.count, 1) }

    /// Refreshes the bias sum and every packed copy from the weights.
    func pack() {
        for job in 0..<packJobs { pack(job: job) }
    }

    /// One job of a refresh: job 0 sums the biases, job `i` fills `parts[i]`; jobs may run concurrently.
    func pack(job index: Int) {
        if index == 0 { sumBiases() }
        guard index < parts.count else { return }
        let h = hiddenSize, n = inputSize
        let part = parts[index]
        if let packed = float32[part.rawValue] {
            if part == .recurrentForward {
                packed.pack(recurrent, rowStride: h, columnStride: 1)
            } else {
                packed.pack(recurrent, rowStride: 1, columnStride: h)
            }
            return
        }
        let packed = bfloat16[part.rawValue]!
        switch part {
        case .inputForward: packed.packRight(wih, rowStride: n, columnStride: 1, n: 4 * h, k: n)
        case .recurrentForward: packed.packRight(recurrent, rowStride: h, columnStride: 1, n: 4 * h, k: h)
        case .inputBackward: packed.packRight(wih, rowStride: 1, columnStride: n, n: n, k: 4 * h)
        case .recurrentBackward: packed.packRight(recurrent, rowStride: 1, columnStride: h, n: h, k: 4 * h)
        case .joined:
            // The rows of [W_ih | W_hh] side by side, then packed as one operand.
            let width = n + h
            let source = FloatBuffer(count: 4 * h * width)
            for r in 0..<(4 * h) {
                (source.pointer + r * width).update(from: wih + r * n, count: n)
                (source.pointer + r * width + n).update(from: recurrent + r * h, count: h)
            }
            packed.packRight(source.pointer, rowStride: width, columnStride: 1, n: 4 * h, k: width)
        }
    }

    /// Sets DropConnect for the next window: the products read `W_hh * mask` ([4H, H]), or `W_hh` when nil.
    /// Call before `pack`.
    func useRecurrentMask(_ mask: UnsafePointer<Float>?) {
        recurrentMask = mask
        guard let mask else { recurrent = whh; return }
        let count = 4 * hiddenSize * hiddenSize
        if dropConnect == nil { dropConnect = FloatBuffer(count: count) }
        let dropped = dropConnect!.pointer
        for i in 0..<count { dropped[i] = whh[i] * mask[i] }
        recurrent = dropped
    }

    private func sumBiases() {
        for j in 0..<(4 * hiddenSize) { biasSum.pointer[j] = bih[j] + bhh[j] }
    }

    /// Room for the operands the products pack per call, one per shard (bfloat16 only).
    struct Scratch {
        /// - window: a window's input or gate gradients as a left operand (also the decoder's operands).
        var window: PackedBFloat16?
        /// - step: one step's `h`, `[x | h]` or gate gradients as a left operand.
        var step: PackedBFloat16?
        /// - right: an activation matrix as a right operand (training).
        var right: PackedBFloat16?
        /// - joined: [lanes, in + H], one step's `[x | h]` in fp32 (inference).
        var joined: FloatBuffer?
        /// - logitGradients: the decoder's logit gradients as a blocked left operand (V rows of depth
        ///   `rows`), for the weight gradient; `window` holds them as the left operand of the input
        ///   gradient (training).
        var logitGradients: PackedBFloat16?
        /// - softmaxRows: [2, V], the softmax pass's two rows in fp32 (training).
        var softmaxRows: FloatBuffer?

        /// Room for every layer's products over `lanes` lanes and windows of up to `seq` steps.
        init(strategy: ProductStrategy, use: EngineUse, configuration c: ModelConfiguration, lanes: Int, seq: Int) {
            guard strategy == .bfloat16 else { return }
            let rows = lanes * seq, h = c.hiddenSize, widest = max(h, c.embeddingSize)
            switch use {
            case .training:
                // The decoder's products use the same room for their [rows, V] left operand.
                let v = c.vocabularySize
                window = PackedBFloat16(count: max(
                    PackedBFloat16.leftCount(m: rows, k: 4 * h), PackedBFloat16.leftCount(m: 4 * h, k: rows),
                    PackedBFloat16.leftCount(m: rows, k: widest), PackedBFloat16.rightCount(n: 4 * h, k: rows),
                    PackedBFloat16.leftCount(m: rows, k: v)))
                right = PackedBFloat16(right: widest, k: rows)
                step = PackedBFloat16(left: lanes, k: 4 * h)
                logitGradients = PackedBFloat16(right: v, k: rows)
                softmaxRows = FloatBuffer(count: 2 * v)
            case .inference:
                window = PackedBFloat16(left: rows, k: widest)
                step = PackedBFloat16(left: lanes, k: widest + h)
                joined = FloatBuffer(count: lanes * (widest + h))
            }
        }
    }

    // MARK: Forward products

    /// `gates = input W_ih^T` over a window.
    ///
    /// - input: [rows, in]; gates: [rows, 4H] (written).
    /// - left: room for `input` packed as a left operand (bfloat16 only).
    /// - vectorForOneRow: a single row runs as a matrix-vector product (the forward-only passes).
    func inputForward(_ input: UnsafePointer<Float>, rows: Int, into gates: UnsafeMutablePointer<Float>,
                      left: PackedBFloat16?, vectorForOneRow: Bool) {
        let h = hiddenSize, n = inputSize
        if strategy == .bfloat16 {
            BFloat16Kernels.packLeft(input, rowStride: n, columnStride: 1, m: rows, k: n, into: left!)
            BFloat16Kernels.gemm(m: rows, n: 4 * h, k: n, a: left!, b: packed(.inputForward), beta: 0, c: gates, ldc: 4 * h)
        } else if rows == 1 && vectorForOneRow {
            BLAS.gemv(transpose: false, rows: 4 * h, columns: n, a: wih, lda: n, x: input, beta: 0, y: gates)
        } else {
            BLAS.gemm(transposeA: false, transposeB: true, m: rows, n: 4 * h, k: n,
                      a: input, lda: n, b: wih, ldb: n, beta: 0, c: gates, ldc: 4 * h)
        }
    }

    /// `gates += hidden W_hh^T` for one step.
    ///
    /// - hidden: [lanes, H]; gates: [lanes, 4H].
    /// - left: room for `hidden` packed as a left operand (bfloat16 only).
    /// - vectorForOneRow: one lane runs as a matrix-vector product (the forward-only passes).
    func recurrentForward(_ hidden: UnsafePointer<Float>, lanes: Int, into gates: UnsafeMutablePointer<Float>,
                          left: PackedBFloat16?, vectorForOneRow: Bool) {
        let h = hiddenSize
        switch strategy {
        case .bfloat16:
            BFloat16Kernels.packLeft(hidden, rowStride: h, columnStride: 1, m: lanes, k: h, into: left!)
            BFloat16Kernels.gemm(m: lanes, n: 4 * h, k: h, a: left!, b: packed(.recurrentForward), beta: 1, c: gates, ldc: 4 * h)
        case .packedFloat32 where !(lanes == 1 && vectorForOneRow):
            Float32Kernels.gemm(m: lanes, n: 4 * h, k: h, a: hidden, lda: h, b: packedFloat32(.recurrentForward), beta: 1,
                                c: gates, ldc: 4 * h)
        case .packedFloat32, .blas:
            if lanes == 1 && vectorForOneRow {
                BLAS.gemv(transpose: false, rows: 4 * h, columns: h, a: recurrent, lda: h, x: hidden, beta: 1, y: gates)
            } else {
                BLAS.gemm(transposeA: false, transposeB: true, m: lanes, n: 4 * h, k: h,
                          a: hidden, lda: h, b: recurrent, ldb: h, beta: 1, c: gates, ldc: 4 * h)
            }
        }
    }

    /// Whether a forward-only single step runs as the one joined product `jointStep`.
    var hasJointStep: Bool { bfloat16[Part.joined.rawValue] != nil }

    @inline(__always) private func packed(_ part: Part) -> PackedBFloat16 { bfloat16[part.rawValue]! }
    @inline(__always) private func packedFloat32(_ part: Part) -> PackedFloat32 { float32[part.rawValue]! }

    /// `gates = [input | hidden] [W_ih | W_hh]^T` for one step, as one product (bfloat16, forward only).
    ///
    /// - input: [lanes, in]; hidden: [lanes, H]; gates: [lanes, 4H] (written).
    /// - joined: room for [lanes, in + H] in fp32; left: room for it packed.
    /// - split: compute the upper columns on the helper thread at the same time.
    func jointStep(input: UnsafePointer<Float>, hidden: UnsafePointer<Float>, lanes: Int, into gates: UnsafeMutablePointer<Float>,
                   joined: UnsafeMutablePointer<Float>, left: PackedBFloat16, split: Bool) {
        let h = hiddenSize, n = inputSize, width = n + h
        for b in 0..<lanes {
            (joined + b * width).update(from: input + b * n, count: n)
            (joined + b * width + n).update(from: hidden + b * h, count: h)
        }
        BFloat16Kernels.packLeft(joined, rowStride: width, columnStride: 1, m: lanes, k: width, into: left)
        if split {
            BFloat16Kernels.gemmPair(m: lanes, n: 4 * h, k: width, a: left, b: packed(.joined), beta: 0, c: gates, ldc: 4 * h)
        } else {
            BFloat16Kernels.gemm(m: lanes, n: 4 * h, k: width, a: left, b: packed(.joined), beta: 0, c: gates, ldc: 4 * h)
        }
    }

    // MARK: Backward products

    /// `hiddenGradient = dGates W_hh` for one step (the gradient reaching the previous step's `h`).
    ///
    /// - dGates: [lanes, 4H]; hiddenGradient: [lanes, H] (written).
    func recurrentBackward(_ dGates: UnsafePointer<Float>, lanes: Int, into hiddenGradient: UnsafeMutablePointer<Float>,
                           left: PackedBFloat16?) {
        let h = hiddenSize
        switch strategy {
        case .bfloat16:
            BFloat16Kernels.packLeft(dGates, rowStride: 4 * h, columnStride: 1, m: lanes, k: 4 * h, into: left!)
            BFloat16Kernels.gemm(m: lanes, n: h, k: 4 * h, a: left!, b: packed(.recurrentBackward), beta: 0,
                                 c: hiddenGradient, ldc: h)
        case .packedFloat32:
            Float32Kernels.gemm(m: lanes, n: h, k: 4 * h, a: dGates, lda: 4 * h, b: packedFloat32(.recurrentBackward),
                                beta: 0, c: hiddenGradient, ldc: h)
        case .blas:
            BLAS.gemm(transposeA: false, transposeB: false, m: lanes, n: h, k: 4 * h,
                      a: dGates, lda: 4 * h, b: recurrent, ldb: h, beta: 0, c: hiddenGradient, ldc: h)
        }
    }

    /// The window's weight gradients and input gradient from its gate gradients, each one product.
    ///
    /// - dGates: [rows, 4H]; previousHidden: [rows, H]; input: [rows, in].
    /// - dWhh: [4H, H], dWih: [4H, in], dInput: [rows, in] (all written).
    /// - left, right: room for the packed operands (bfloat16 only).
    func windowBackward(dGates: UnsafePointer<Float>, previousHidden: UnsafePointer<Float>, input: UnsafePointer<Float>,
                        rows: Int, dWhh: UnsafeMutablePointer<Float>, dWih: UnsafeMutablePointer<Float>,
                        dInput: UnsafeMutablePointer<Float>, left: PackedBFloat16?, right: PackedBFloat16?) {
        let h = hiddenSize, n = inputSize
        if strategy == .bfloat16, let left, let right {
            // dW = dG^T [4H, rows] times the activations [rows, width], summed over the window.
            left.packRight(dGates, rowStride: 1, columnStride: 4 * h, n: 4 * h, k: rows)
            right.packRight(previousHidden, rowStride: 1, columnStride: h, n: h, k: rows)
            BFloat16Kernels.gemm(m: 4 * h, n: h, k: rows, a: left, aBlocked: true, b: right, beta: 0, c: dWhh, ldc: h)
            right.packRight(input, rowStride: 1, columnStride: n, n: n, k: rows)
            BFloat16Kernels.gemm(m: 4 * h, n: n, k: rows, a: left, aBlocked: true, b: right, beta: 0, c: dWih, ldc: n)
            // d(input) = dG W_ih.
            BFloat16Kernels.packLeft(dGates, rowStride: 4 * h, columnStride: 1, m: rows, k: 4 * h, into: left)
            BFloat16Kernels.gemm(m: rows, n: n, k: 4 * h, a: left, b: packed(.inputBackward), beta: 0, c: dInput, ldc: n)
        } else {
            BLAS.gemm(transposeA: true, transposeB: false, m: 4 * h, n: h, k: rows,
                      a: dGates, lda: 4 * h, b: previousHidden, ldb: h, beta: 0, c: dWhh, ldc: h)
            BLAS.gemm(transposeA: true, transposeB: false, m: 4 * h, n: n, k: rows,
                      a: dGates, lda: 4 * h, b: input, ldb: n, beta: 0, c: dWih, ldc: n)
            BLAS.gemm(transposeA: false, transposeB: false, m: rows, n: n, k: 4 * h,
                      a: dGates, lda: 4 * h, b: wih, ldb: n, beta: 0, c: dInput, ldc: n)
        }
    }
}
