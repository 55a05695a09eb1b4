/// The embedding table: each token id selects one row of `E` floats.
struct Embedding {
    /// - table: [V, E] (a view into the model's parameters).
    let table: UnsafePointer<Float>
    let vocabularySize: Int
    let width: Int

    init(model: LanguageModel) {
        table = UnsafePointer(model.weights.view(at: model.layout.embeddingIndex))
        vocabularySize = model.configuration.vocabularySize
        width = model.configuration.embeddingSize
    }

    /// Gathers the rows of a window, time-major, and marks where lanes reset.
    ///
    /// - inputs: [lanes, seq] token ids, lane-major (lane b's window is `b*seq ..< (b+1)*seq`).
    /// - embedded: [seq * lanes, E]; row `t * lanes + b` is lane b's input at step t.
    /// - keep: [seq * lanes], 0 where the input is `[DOC]` (the lane resets before reading it), else 1.
    /// - masks: training only: each row scaled by its token's row mask and its lane's mask.
    func forward(inputs: UnsafePointer<Int32>, lanes: Int, seq: Int,
                 embedded: UnsafeMutablePointer<Float>, keep: UnsafeMutablePointer<Float>, masks: WindowMasks = WindowMasks()) {
        let e = width
        for t in 0..<seq {
            for b in 0..<lanes {
                let token = Int(inputs[b * seq + t])
                precondition(token >= 0 && token < vocabularySize, "token id out of range")
                let row = embedded + (t * lanes + b) * e
                row.update(from: table + token * e, count: e)
                keep[t * lanes + b] = token == 0 ? 0 : 1
                Self.scale(row, width: e, token: token, lane: b, masks: masks)
            }
        }
    }

    /// Multiplies one row by its token's row mask and its lane's mask, where they exist.
    @inline(__always)
    private static func scale(_ row: UnsafeMutablePointer<Float>, width e: Int, token: Int, lane b: Int, masks: WindowMasks) {
        if let rows = masks.rows {
            let factor = rows[token]
            for j in 0..<e { row[j] *= factor }
        }
        if let lanes = masks.lanes {
            let mask = lanes + b * e
            for j in 0..<e { row[j] *= mask[j] }
        }
    }

    /// Scatter-adds each row's gradient into its token's row.
    ///
    /// - embeddedGradient: [seq * lanes, E], time-major as `forward` wrote `embedded`.
    /// - tableGradient: [V, E], overwritten.
    /// - masks: the masks `forward` applied; `embeddedGradient` is scaled by them in place.
    func backward(inputs: UnsafePointer<Int32>, lanes: Int, seq: Int,
                  embeddedGradient: UnsafeMutablePointer<Float>, tableGradient: UnsafeMutablePointer<Float>,
                  masks: WindowMasks = WindowMasks()) {
        let e = width
        tableGradient.update(repeating: 0, count: vocabularySize * e)
        for t in 0..<seq {
            for b in 0..<lanes {
                let token = Int(inputs[b * seq + t])
                let source = embeddedGradient + (t * lanes + b) * e
                Self.scale(source, width: e, token: token, lane: b, masks: masks)
                let target = tableGradient + token * e
                for j in 0..<e { target[j] += source[j] }
            }
        }
    }
}
