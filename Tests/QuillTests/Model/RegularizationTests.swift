import XCTest
@testable import Quill

/// The regularizers beyond step dropout: each changes training, reproducibly under the seed, and
/// nothing outside training; their masks have the shapes they claim.
final class RegularizationTests: XCTestCase {
    static let configuration = ModelConfiguration(vocabularySize: 9, embeddingSize: 6, hiddenSize: 12, layers: 2)
    static let batch = 4, seq = 7

    struct Case {
        var model: LanguageModel
        var inputs: [Int32]
        var targets: [Int32]
    }

    static func makeCase(dropout: Float = 0) -> Case {
        var random = QuillRandom(seed: 21)
        var configuration = Self.configuration
        configuration.dropout = dropout
        let model = LanguageModel.initialized(configuration, random: &random)
        let inputs = randomTokens(count: Self.batch * Self.seq, vocabularySize: 9, random: &random)
        let targets = randomTokens(count: Self.batch * Self.seq, vocabularySize: 9, random: &random)
        return Case(model: model, inputs: inputs, targets: targets)
    }

    /// One window's loss and gradients.
    func run(_ c: Case, _ regularization: Regularization, seed: UInt64, training: Bool = true, threads: Int = 1,
             precision: ComputePrecision = .float32) -> (loss: Float, gradients: [Float]) {
        let step = TrainingStep(model: c.model, batch: Self.batch, seq: Self.seq, precision: precision, threads: threads,
                                regularization: regularization)
        let gradients = ParameterBuffer(layout: c.model.layout)
        var random = QuillRandom(seed: seed)
        let loss = c.inputs.withUnsafeBufferPointer { x in
            c.targets.withUnsafeBufferPointer { y in
                step.run(inputs: x, targets: y, state: RecurrentState(configuration: c.model.configuration, batch: Self.batch),
                         gradients: gradients, random: &random, training: training)
            }
        }
        return (loss, Array(gradients.elements))
    }

    static let options: [(String, Float, Regularization)] = [
        ("locked dropout", 0.5, Regularization(dropoutMasks: .window)),
        ("input dropout", 0, Regularization(inputDropout: 0.5)),
        ("DropConnect", 0, Regularization(weightDrop: 0.5)),
        ("embedding dropout", 0, Regularization(embeddingDropout: 0.5)),
    ]

    func testEachRegularizerChangesTrainingReproduciblyUnderTheSeedAndNothingOutsideIt() {
        for (name, dropout, regularization) in Self.options {
            let c = Self.makeCase(dropout: dropout)
            let plain = run(c, .none, seed: 1, training: false)
            let a = run(c, regularization, seed: 1), b = run(c, regularization, seed: 1), other = run(c, regularization, seed: 2)
            XCTAssertEqual(a.loss, b.loss, name)
            XCTAssertEqual(a.gradients, b.gradients, "\(name): the same seed draws the same masks")
            XCTAssertNotEqual(a.gradients, other.gradients, "\(name): another seed draws other masks")
            if dropout == 0 {
                XCTAssertNotEqual(a.loss, run(c, .none, seed: 1).loss, "\(name) changes the training loss")
            }
            // Outside training the regularizer is off, also after a training window ran with it.
            let step = TrainingStep(model: c.model, batch: Self.batch, seq: Self.seq, threads: 1, regularization: regularization)
            var random = QuillRandom(seed: 3)
            let state = RecurrentState(configuration: c.model.configuration, batch: Self.batch)
            let g = ParameterBuffer(layout: c.model.layout)
            let evaluated = c.inputs.withUnsafeBufferPointer { x in
                c.targets.withUnsafeBufferPointer { y in
                    step.run(inputs: x, targets: y, state: state.copy(), gradients: g, random: &random, training: true)
                    return step.run(inputs: x, targets: y, state: state, gradients: g, random: &random, training: false)
                }
            }
            XCTAssertEqual(evaluated, plain.loss, "\(name) is off outside training")
        }
    }

    func testEveryRegularizerGivesTheSameBitsOnOneAndTwoThreads() {
        let c = Self.makeCase(dropout: 0.3)
        let all = Regularization(dropoutMasks: .window, inputDropout: 0.3, weightDrop: 0.3, embeddingDropout: 0.2)
        let one = run(c, all, seed: 9, threads: 1), two = run(c, all, seed: 9, threads: 2)
        XCTAssertEqual(one.loss, two.loss)
        XCTAssertEqual(one.gradients, two.gradients)
    }

    func testDropConnectReachesEveryProductStrategy() throws {
        // The packed copies of W_hh are made from the dropped weights: every strategy agrees with BLAS.
        try XCTSkipUnless(Float32Kernels.isAvailable, "the CPU has neither AVX-512F nor AVX2 with FMA")
        let c = Self.makeCase()
        let regularization = Regularization(weightDrop: 0.5)
        func loss(_ strategy: ProductStrategy) -> Float {
            let step = TrainingStep(model: c.model, batch: Self.batch, seq: Self.seq, strategy: strategy, threads: 1,
                                    regularization: regularization)
            var random = QuillRandom(seed: 4)
            let g = ParameterBuffer(layout: c.model.layout)
            return c.inputs.withUnsafeBufferPointer { x in
                c.targets.withUnsafeBufferPointer { y in
                    step.run(inputs: x, targets: y, state: RecurrentState(configuration: c.model.configuration, batch: Self.batch),
                             gradients: g, random: &random)
                }
            }
        }
        let blas = loss(.blas)
        XCTAssertNotEqual(blas, run(c, .none, seed: 4).loss)
        XCTAssertEqual(loss(.packedFloat32), blas, accuracy: 1e-5)
        if BFloat16Kernels.isAvailable { XCTAssertEqual(loss(.bfloat16), blas, accuracy: 2e-2) }
    }

    func testLockedMasksRepeatAtEveryStepAndDropWholeRows() {
        let c = Self.makeCase(dropout: 0.5)
        let step = TrainingStep(model: c.model, batch: Self.batch, seq: Self.seq, threads: 1,
                                regularization: Regularization(dropoutMasks: .window, weightDrop: 0.5, embeddingDropout: 0.5))
        var random = QuillRandom(seed: 6)
        let g = ParameterBuffer(layout: c.model.layout)
        c.inputs.withUnsafeBufferPointer { x in
            c.targets.withUnsafeBufferPointer { y in
                _ = step.run(inputs: x, targets: y, state: RecurrentState(configuration: c.model.configuration, batch: Self.batch),
                             gradients: g, random: &random)
            }
        }
        let h = Self.configuration.hiddenSize
        for w in step.workspaces {
            let mask = w.layers[0].dropMask!.pointer, width = w.lanes * h
            let first = Array(UnsafeBufferPointer(start: mask, count: width))
            XCTAssertTrue(first.contains(0) && first.contains(2), "a mask of 0 and 1/(1-p)")
            for t in 1..<Self.seq {
                XCTAssertEqual(Array(UnsafeBufferPointer(start: mask + t * width, count: width)), first, "step \(t)")
            }
        }
        // A dropped character's embedding row gets no gradient; a kept one that occurs does.
        let rows = Array(UnsafeBufferPointer(start: step.rowMask!.pointer, count: Self.configuration.vocabularySize))
        let e = Self.configuration.embeddingSize
        let table = g.view(at: c.model.layout.embeddingIndex)
        for token in Set(c.inputs.map(Int.init)) {
            let norm = (0..<e).reduce(Float(0)) { $0 + abs(table[token * e + $1]) }
            if rows[token] == 0 { XCTAssertEqual(norm, 0, "dropped row \(token)") } else { XCTAssertGreaterThan(norm, 0) }
        }
        // DropConnect's mask: about half of W_hh, and the raw W_hh's gradient is 0 where it is dropped.
        let mask = step.recurrentMasks[0].pointer, count = 4 * h * h
        let dropped = (0..<count).filter { mask[$0] == 0 }
        XCTAssertEqual(Double(dropped.count) / Double(count), 0.5, accuracy: 0.1)
        let dWhh = g.view(at: c.model.layout.layerIndex(0) + 1)
        XCTAssertTrue(dropped.allSatisfy { dWhh[$0] == 0 })
    }
}

/// One rank of two whose collectives return at once (the masks are checked, not the sums).
private final class LoneRank: Communicator {
    let rank: Int
    var size: Int { 2 }
    init(rank: Int) { self.rank = rank }
    func sumInRankOrder(_ buffer: UnsafeMutableBufferPointer<Float>) {}
    func allGather(_ bytes: [UInt8]) -> [[UInt8]] { [bytes, bytes] }
    func broadcast(_ bytes: [UInt8]) -> [UInt8] { bytes }
}

final class RegularizationAcrossRanksTests: XCTestCase {
    func testEachRankDrawsItsShardsMasksOfTheOneProcessRunAndKeepsItsGeneratorInStep() {
        let c = RegularizationTests.makeCase(dropout: 0.3)
        let all = Regularization(dropoutMasks: .window, inputDropout: 0.3, weightDrop: 0.3, embeddingDropout: 0.2)
        func run(_ communicator: Communicator) -> (TrainingStep, QuillRandom) {
            let step = TrainingStep(model: c.model, batch: RegularizationTests.batch, seq: RegularizationTests.seq,
                                    threads: 2, communicator: communicator, regularization: all)
            var random = QuillRandom(seed: 12)
            let g = ParameterBuffer(layout: c.model.layout)
            c.inputs.withUnsafeBufferPointer { x in
                c.targets.withUnsafeBufferPointer { y in
                    _ = step.run(inputs: x, targets: y,
                                 state: RecurrentState(configuration: c.model.configuration, batch: RegularizationTests.batch),
                                 gradients: g, random: &random)
                }
            }
            return (step, random)
        }
        let (single, singleRandom) = run(SingleProcess())
        XCTAssertEqual(single.workspaces.count, 2)
        func values(_ buffer: FloatBuffer) -> [Float] { Array(UnsafeBufferPointer(start: buffer.pointer, count: buffer.count)) }
        for rank in 0..<2 {
            let (step, random) = run(LoneRank(rank: rank))
            XCTAssertEqual(random, singleRandom, "rank \(rank): the generator is where the one process left it")
            XCTAssertEqual(step.workspaces.count, 1)
            XCTAssertEqual(step.workspaces[0].shard, single.workspaces[rank].shard)
            XCTAssertEqual(values(step.laneMasks[0]), values(single.laneMasks[rank]), "rank \(rank): input masks")
            XCTAssertEqual(values(step.rowMask!), values(single.rowMask!))
            XCTAssertEqual(values(step.recurrentMasks[1]), values(single.recurrentMasks[1]))
            for k in 0..<2 {
                XCTAssertEqual(values(step.workspaces[0].layers[k].dropMask!), values(single.workspaces[rank].layers[k].dropMask!),
                               "rank \(rank), layer \(k): locked dropout masks")
            }
        }
    }
}
