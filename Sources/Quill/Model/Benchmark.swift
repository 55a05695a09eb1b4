/// Times `TrainingStep.run` on random tokens and returns the mean seconds per step.
///
/// One warm-up step is run first and not timed. Characters per second is `batch * seq` divided
/// by the result. The model is initialized with seed 1; the tokens come from seed 2.
public func benchmarkTrainingStep(configuration: ModelConfiguration, batch: Int, seq: Int, steps: Int,
                                  precision: ComputePrecision = .float32,
                                  threads: Int = defaultEngineThreadCount) -> Double {
    precondition(steps >= 1, "steps must be positive")
    var random = QuillRandom(seed: 1)
    let model = LanguageModel.initialized(configuration, random: &random)
    let step = TrainingStep(model: model, batch: batch, seq: seq, precision: precision, threads: threads)
    let gradients = ParameterBuffer(layout: model.layout)
    let state = RecurrentState(configuration: configuration, batch: batch)
    var tokenRandom = QuillRandom(seed: 2)
    let count = batch * seq
    let v = UInt64(configuration.vocabularySize)
    let inputs = (0..<count).map { _ in Int32(tokenRandom.next() % v) }
    let targets = (0..<count).map { _ in Int32(tokenRandom.next() % v) }
    return inputs.withUnsafeBufferPointer { x in
        targets.withUnsafeBufferPointer { y in
            _ = step.run(inputs: x, targets: y, state: state, gradients: gradients, random: &random)
            let start = ContinuousClock.now
            for _ in 0..<steps {
                _ = step.run(inputs: x, targets: y, state: state, gradients: gradients, random: &random)
            }
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            return seconds / Double(steps)
        }
    }
}
