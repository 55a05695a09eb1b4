import _QuillKernels
/// Turns one row of logits into a token id: temperature, top-k, top-p, then an inverse-CDF draw.
///
/// The rules, as PyTorch and Hugging Face users expect them:
/// - **Temperature** divides the logits (after subtracting their maximum, which changes nothing
///   but keeps `exp` finite). Temperature 0 is greedy: the argmax, the lowest id among equal
///   maxima, and no randomness is consumed.
/// - **Top-k** keeps exactly `k` tokens: those with the largest logits; among tokens tied with the
///   k-th largest logit, the lower ids are kept. `k = 0` or `k >= V` keeps all.
/// - **Top-p** keeps the smallest set of most probable tokens (same order: larger logit first, then
///   lower id) whose probability, on the distribution after temperature and top-k, adds up to at
///   least `p`; at least one token is always kept. `p = 1` keeps all.
/// - The kept weights are renormalized and one token is drawn with one `nextUnitDouble()` from the
///   generator, accumulating in `Double`. Every non-greedy call consumes exactly one draw, so the
///   generator's stream stays aligned whatever the settings.
///
/// Logits may hold `-infinity` (a token that can never be drawn); at least one must be finite and
/// none may be NaN or `+infinity` (checked by preconditions). The sampler owns its scratch buffers,
/// so a call allocates nothing; use one sampler per thread.
public final class TokenSampler {
    /// Number of token ids a row of logits holds.
    public let vocabularySize: Int
    /// The transforms this sampler applies.
    public let settings: SamplingSettings

    /// The top-k count in effect: 0 when off or when it would keep every token.
    private let effectiveTopK: Int
    /// True when top-k or top-p removes tokens, so kept tokens must be selected.
    private let filters: Bool

    /// - weights: [V] unnormalized probabilities `exp((logit - max) / T)`.
    private let weights: UnsafeMutablePointer<Float>
    /// - heap: [V] token ids, partitioned for top-k, then arranged as a max-heap by (logit, then lower id) for top-p.
    private let heap: UnsafeMutablePointer<Int32>
    /// - kept: [V] ids of the kept tokens (most probable first when top-p is on).
    private let kept: UnsafeMutablePointer<Int32>
    /// - blockSums: [ceil(V / 8)] sums of `weights` over each run of eight ids, in `Double`.
    private let blockSums: UnsafeMutablePointer<Double>
    /// 1/T when it is finite, else nil (the logits are then divided by T).
    private let inverseTemperature: Float?

    /// A sampler for rows of `vocabularySize` logits.
    public init(vocabularySize: Int, settings: SamplingSettings) {
        precondition(vocabularySize >= 1 && vocabularySize <= Int(Int32.max), "vocabulary size out of range")
        self.vocabularySize = vocabularySize
        self.settings = settings
        effectiveTopK = settings.topK < vocabularySize ? settings.topK : 0
        filters = effectiveTopK > 0 || settings.topP < 1
        weights = .allocate(capacity: vocabularySize)
        heap = .allocate(capacity: vocabularySize)
        kept = .allocate(capacity: vocabularySize)
        blockSums = .allocate(capacity: (vocabularySize + 7) / 8)
        let inverse = 1 / settings.temperature
        inverseTemperature = inverse.isFinite ? inverse : nil
    }

    deinit {
        weights.deallocate()
        heap.deallocate()
        kept.deallocate()
        blockSums.deallocate()
    }

    /// Draws one token id from a row of logits.
    ///
    /// - Parameters:
    ///   - logits: [V] unnormalized log-probabilities of the next token.
    ///   - random: the generator; advanced by exactly one draw unless the temperature is 0.
    /// - Returns: a token id in `0..<V`.
    public func sample(logits: UnsafePointer<Float>, random: inout QuillRandom) -> Int32 {
        if settings.isGreedy { return argmax(logits) }
        let total = computeWeights(logits)
        let u = random.nextUnitDouble()
        if !filters { return drawFromAll(target: u * total) }
        let (count, keptTotal) = selectKept(logits, total: total)
        return drawFromKept(count: count, target: u * keptTotal)
    }

    /// Draws one token id from a row of logits held in an array.
    public func sample(logits: [Float], random: inout QuillRandom) -> Int32 {
        precondition(logits.count == vocabularySize, "logits row has the wrong length")
        return logits.withUnsafeBufferPointer { sample(logits: $0.baseAddress!, random: &random) }
    }

    /// The exact distribution `sample` draws from, after every transform and renormalization.
    ///
    /// - Parameter logits: [V] logits.
    /// - Returns: [V] probabilities; removed tokens are 0; greedy settings give a one-hot row.
    public func probabilities(logits: [Float]) -> [Float] {
        precondition(logits.count == vocabularySize, "logits row has the wrong length")
        var result = [Float](repeating: 0, count: vocabularySize)
        logits.withUnsafeBufferPointer { buffer in
            let logits = buffer.baseAddress!
            if settings.isGreedy {
                result[Int(argmax(logits))] = 1
                return
            }
            let total = computeWeights(logits)
            if !filters {
                for i in 0..<vocabularySize { result[i] = Float(Double(weights[i]) / total) }
                return
            }
            let (count, keptTotal) = selectKept(logits, total: total)
            for j in 0..<count {
                let id = Int(kept[j])
                result[id] = Float(Double(weights[id]) / keptTotal)
            }
        }
        return result
    }

    // MARK: - Steps

    /// The id of the largest logit, the lowest id among equal maxima.
    private func argmax(_ logits: UnsafePointer<Float>) -> Int32 {
        var best = 0
        var bestValue = logits[0]
        for i in 1..<vocabularySize where logits[i] > bestValue || bestValue.isNaN {
            best = i
            bestValue = logits[i]
        }
        precondition(!bestValue.isNaN, "logits are all NaN")
        return Int32(best)
    }

    /// Fills `weights` with `exp((logit - max) / T)` and `blockSums`, and returns their total.
    ///
    /// The total is the running sum of the block sums in order, the same partial sums `drawFromAll`
    /// walks, so a target below the total always lands in a block.
    private func computeWeights(_ logits: UnsafePointer<Float>) -> Double {
        let n = vocabularySize
        let source = UnsafeRawPointer(logits)
        let target = UnsafeMutableRawPointer(weights)
        let stride = MemoryLayout<SIMD8<Float>>.stride
        let fullBlocks = n / 8

        var max8 = SIMD8<Float>(repeating: -.infinity)
        for b in 0..<fullBlocks {
            let x = source.loadUnaligned(fromByteOffset: b * stride, as: SIMD8<Float>.self)
            max8.replace(with: x, where: x .> max8)
        }
        var maximum = max8.max()
        for i in (fullBlocks * 8)..<n { maximum = Swift.max(maximum, logits[i]) }
        precondition(maximum.isFinite, "logits need at least one finite value and no +infinity")

        if let scale = inverseTemperature {
            for b in 0..<fullBlocks {
                let x = source.loadUnaligned(fromByteOffset: b * stride, as: SIMD8<Float>.self)
                let w = Self.weights((x - maximum) * scale)
                target.storeBytes(of: w, toByteOffset: b * stride, as: SIMD8<Float>.self)
                blockSums[b] = Self.sumOfLanes(w)
            }
        } else {
            // 1/T overflows: divide, since multiplying 0 (the maximum's shifted logit) by infinity is NaN.
            let temperature = settings.temperature
            for b in 0..<fullBlocks {
                let x = source.loadUnaligned(fromByteOffset: b * stride, as: SIMD8<Float>.self)
                let w = Self.weights((x - maximum) / temperature)
                target.storeBytes(of: w, toByteOffset: b * stride, as: SIMD8<Float>.self)
                blockSums[b] = Self.sumOfLanes(w)
            }
        }
        var total = 0.0
        for b in 0..<fullBlocks { total += blockSums[b] }
        if fullBlocks * 8 < n {
            var tail = 0.0
            for i in (fullBlocks * 8)..<n {
                let shifted = logits[i] - maximum
                let w = Self.weight(inverseTemperature.map { shifted * $0 } ?? shifted / settings.temperature)
                weights[i] = w
                tail += Double(w)
            }
            blockSums[fullBlocks] = tail
            total += tail
        }
        precondition(total.isFinite && total >= 1, "logits hold NaN")  // the maximum alone weighs 1
        return total
    }

    /// The weight `e^x` of a shifted, scaled logit `x <= 0`: `quillExp`, and exactly 0 below -87.3
    /// (including -infinity), so a masked logit weighs nothing.
    @inline(__always)
    private static func weight(_ x: Float) -> Float {
        x >= -87.3 ? quillExp(x) : 0
    }

    /// `weight` of eight lanes.
    @inline(__always)
    private static func weights(_ x: SIMD8<Float>) -> SIMD8<Float> {
        quill_exp8(x).replacing(with: 0, where: x .< -87.3)
    }

    /// The eight lanes added as a tree in `Double` (a short dependency chain).
    @inline(__always)
    private static func sumOfLanes(_ w: SIMD8<Float>) -> Double {
        let a = Double(w[0]) + Double(w[1]), b = Double(w[2]) + Double(w[3])
        let c = Double(w[4]) + Double(w[5]), d = Double(w[6]) + Double(w[7])
        return (a + b) + (c + d)
    }

    /// Inverse CDF over all tokens: the first id whose running weight passes `target`.
    ///
    /// Whole blocks of eight are skipped by their sums first, so the serial chain of additions is short.
    private func drawFromAll(target: Double) -> Int32 {
        let n = vocabularySize
        let lastBlock = (n + 7) / 8 - 1
        var cumulative = 0.0
        var b = 0
        while b < lastBlock && cumulative + blockSums[b] <= target {
            cumulative += blockSums[b]
            b += 1
        }
        let end = Swift.min(8 * b + 8, n)
        for i in (8 * b)..<end {
            cumulative += Double(weights[i])
            if cumulative > target { return Int32(i) }
        }
        // Rounding left the running sum a hair short of the target: take the last token with weight.
        var i = end - 1
        while weights[i] == 0 { i -= 1 }
        return Int32(i)
    }

    /// Inverse CDF over the kept tokens, in their stored order.
    private func drawFromKept(count: Int, target: Double) -> Int32 {
        var cumulative = 0.0
        for j in 0..<count {
            cumulative += Double(weights[Int(kept[j])])
            if cumulative > target { return kept[j] }
        }
        var j = count - 1
        while weights[Int(kept[j])] == 0 { j -= 1 }  // the maximum, whose weight is 1, is always kept
        return kept[j]
    }

    /// Applies top-k and top-p: fills `kept` with the surviving ids.
    ///
    /// Top-k is a quickselect (average O(V)) that leaves the k top-ranked ids first, in no particular
    /// order. Top-p builds a max-heap in O(n) over the candidates and pops only as far as the nucleus
    /// reaches, so its ids come most probable first. Neither sorts the whole row.
    /// - Returns: the number of kept ids and the sum of their weights.
    private func selectKept(_ logits: UnsafePointer<Float>, total: Double) -> (count: Int, weight: Double) {
        var candidates = vocabularySize
        var candidateTotal = total
        for i in 0..<candidates { heap[i] = Int32(i) }
        if effectiveTopK > 0 {
            candidates = effectiveTopK
            selectTopRanked(candidates, of: vocabularySize, logits)
            candidateTotal = 0
            for j in 0..<candidates { candidateTotal += Double(weights[Int(heap[j])]) }
            if settings.topP == 1 {
                kept.update(from: heap, count: candidates)
                return (candidates, candidateTotal)
            }
        }

        var size = candidates
        var start = size / 2
        while start > 0 {
            start -= 1
            siftDown(start, size: size, logits)
        }
        let threshold = Double(settings.topP) * candidateTotal
        var cumulative = 0.0
        var count = 0
        repeat {
            let id = popMax(size: &size, logits)
            kept[count] = id
            cumulative += Double(weights[Int(id)])
            count += 1
        } while size > 0 && cumulative < threshold
        return (count, cumulative)
    }

    /// Rearranges `heap[0..<n]` so its first `k` ids are the `k` top-ranked ones (Hoare's quickselect).
    private func selectTopRanked(_ k: Int, of n: Int, _ logits: UnsafePointer<Float>) {
        precondition(k > 0 && k < n)
        let ids = UnsafeMutableBufferPointer(start: heap, count: n)
        var low = 0, high = n  // the boundary at k lies in low...high
        while high - low > 1 {
            // Median of three as the pivot, moved to the end of the range.
            let mid = low + (high - low) / 2, last = high - 1
            if ranksBefore(ids[mid], ids[low], logits) { ids.swapAt(mid, low) }
            if ranksBefore(ids[last], ids[low], logits) { ids.swapAt(last, low) }
            if ranksBefore(ids[mid], ids[last], logits) { ids.swapAt(mid, last) }
            let pivot = ids[last]
            var store = low
            for i in low..<last where ranksBefore(ids[i], pivot, logits) {
                ids.swapAt(i, store)
                store += 1
            }
            ids.swapAt(store, last)  // ids[low..<store] rank before the pivot, the rest after
            if store == k || store + 1 == k { return }
            if store > k { high = store } else { low = store + 1 }
        }
    }

    /// True when token `a` ranks before token `b`: a larger logit, or an equal logit and a lower id.
    @inline(__always)
    private func ranksBefore(_ a: Int32, _ b: Int32, _ logits: UnsafePointer<Float>) -> Bool {
        let la = logits[Int(a)], lb = logits[Int(b)]
        return la > lb || (la == lb && a < b)
    }

    /// Restores the heap order below position `i` of `heap[0..<size]`.
    @inline(__always)
    private func siftDown(_ i: Int, size: Int, _ logits: UnsafePointer<Float>) {
        var parent = i
        let item = heap[parent]
        while true {
            var child = 2 * parent + 1
            if child >= size { break }
            if child + 1 < size && ranksBefore(heap[child + 1], heap[child], logits) { child += 1 }
            if !ranksBefore(heap[child], item, logits) { break }
            heap[parent] = heap[child]
            parent = child
        }
        heap[parent] = item
    }

    /// Removes and returns the top-ranked id of `heap[0..<size]`.
    @inline(__always)
    private func popMax(size: inout Int, _ logits: UnsafePointer<Float>) -> Int32 {
        let top = heap[0]
        size -= 1
        if size > 0 {
            heap[0] = heap[size]
            siftDown(0, size: size, logits)
        }
        return top
    }
}
