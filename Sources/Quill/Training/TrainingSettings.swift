/// The table of training settings: each one's name, default, range, unit and meaning, written once.
///
/// The defaults aim at a good model of a 1 to 4 MB corpus in ten minutes on two CPU cores. The
/// default model (E 64, H 512, 2 layers, about 3.3M parameters for 65 characters) costs about
/// 20 MFLOP per training character, so those cores train some 16,000 characters a second with
/// AVX-512 BF16 (about ten passes over Tiny Shakespeare in ten minutes) and some 5,700 with AVX2
/// alone. A wider model (H 1024) runs three to five times slower; a
/// narrower one (H 128) stops improving well before. Windows of 32 lanes x 64 steps keep each matrix
/// product large enough for the kernels while giving many updates per epoch. The size ranges are
/// bounds against typing mistakes; whether a model fits in memory is checked separately.
public enum TrainingSettings {
    // Model shape.
    public static let size = TrainingSetting<ModelSize>(
        \.size, name: "size", default: .auto,
        summary: "Model width and depth: auto picks from the corpus's size and the budget, a time limit counted at the speed measured at start (2 x 512 for 1-4 MB in 10 minutes; see ModelSizeRule) and prints why; small, medium and large are 2 x 128, 512 and 1024; a hidden size or layer count given overrides it")
        .addedLater(readingAbsentAs: .auto)
    public static let embeddingSize = TrainingSetting<Int>(
        \.embeddingSize, name: "embeddingSize", default: 64, summary: "Embedding width (E)",
        range: 1...4096, typical: "32-256")
    public static let hiddenSize = TrainingSetting<Int>(
        \.hiddenSize, name: "hiddenSize", default: 512, summary: "LSTM hidden and cell width (H)",
        range: 1...8192, typical: "128-1024")
    public static let layers = TrainingSetting<Int>(
        \.layers, name: "layers", default: 2, summary: "Stacked LSTM layers (L)", range: 1...16, typical: "1-3")
    public static let regularization = TrainingSetting<RegularizationPreset>(
        \.regularization, name: "regularization", default: .auto,
        summary: "Regularization recipe: auto picks light when the budget reads the training text fewer than \(TrainingSetting<Double>.decimal(RegularizationRule.strongFromPasses)) times, strong from there, heavy from \(TrainingSetting<Double>.decimal(RegularizationRule.heavyFromPasses)) times (see RegularizationRule) and prints why; \(RegularizationPreset.allCases.filter { $0 != .auto }.map { "\($0.rawValue) is \($0.phrase)" }.joined(separator: "; ")); a dropout, mask kind, input dropout, DropConnect, (for strong and heavy) weight decay or (for heavy) learning-rate decay given overrides its part")
        .addedLater(readingAbsentAs: .auto)
    public static let dropout = TrainingSetting<Float>(
        \.dropout, name: "dropout", default: 0.1,
        summary: "Dropout probability between layers and before the decoder, in training only",
        lower: .from(0), upper: .below(1), typical: "0-0.5", defaultText: "from the regularization recipe: 0.1 for light, 0.2 for strong, 0.4 for heavy")
    public static let dropoutMasks = TrainingSetting<DropoutMasks>(
        \.dropoutMasks, name: "dropoutMasks", default: .step,
        summary: "How dropout and input-dropout masks are drawn: step draws one per step, window one per lane per window (variational, locked dropout)",
        defaultText: "from the regularization recipe: step for light, window for strong and heavy")
        .addedLater(readingAbsentAs: .step)
    public static let inputDropout = TrainingSetting<Float>(
        \.inputDropout, name: "inputDropout", default: 0,
        summary: "Locked dropout on the first LSTM layer's input: one mask per lane per window, in training only",
        lower: .from(0), upper: .below(1), typical: "0-0.4", defaultText: "from the regularization recipe: 0 for light, 0.1 for strong, 0.15 for heavy")
        .addedLater(readingAbsentAs: 0)
    public static let weightDrop = TrainingSetting<Float>(
        \.weightDrop, name: "weightDrop", default: 0,
        summary: "DropConnect on each layer's recurrent weights W_hh (AWD-LSTM): one mask per window, shared by every lane",
        lower: .from(0), upper: .below(1), typical: "0-0.5", defaultText: "from the regularization recipe: 0.25 for heavy, 0 for the others")
        .addedLater(readingAbsentAs: 0)
    public static let embeddingDropout = TrainingSetting<Float>(
        \.embeddingDropout, name: "embeddingDropout", default: 0,
        summary: "Embedding dropout: whole characters (rows of the embedding) dropped per window, the others rescaled",
        lower: .from(0), upper: .below(1), typical: "0-0.2")
        .addedLater(readingAbsentAs: 0)

    // Windows.
    public static let batch = TrainingSetting<Int>(
        \.batch, name: "batch", default: 32, summary: "Lanes per step (B)", unit: "lanes", range: 1...4096,
        typical: "16-128")
    public static let seq = TrainingSetting<Int>(
        \.seq, name: "seq", default: 64, summary: "Characters per lane per step, the BPTT length (T)", unit: "tokens",
        range: 1...4096, typical: "32-256")

    // Optimizer: Adam, or AdamW when the weight decay is positive.
    public static let learningRate = TrainingSetting<Float>(
        \.learningRate, name: "learningRate", default: 2e-3, summary: "Peak learning rate",
        lower: .above(0), upper: .to(1), typical: "0.0005-0.005")
    public static let beta1 = TrainingSetting<Double>(
        \.beta1, name: "beta1", default: 0.9, summary: "Adam's first-moment decay", lower: .from(0), upper: .below(1))
    public static let beta2 = TrainingSetting<Double>(
        \.beta2, name: "beta2", default: 0.999, summary: "Adam's second-moment decay", lower: .from(0), upper: .below(1),
        typical: "0.99 for short runs")
    public static let epsilon = TrainingSetting<Double>(
        \.epsilon, name: "epsilon", default: 1e-8, summary: "Adam's epsilon", lower: .above(0), upper: .to(1))
    public static let weightDecay = TrainingSetting<Double>(
        \.weightDecay, name: "weightDecay", default: 0,
        summary: "AdamW's decoupled weight decay per unit of learning rate; 0 is plain Adam",
        lower: .from(0), upper: .to(1), typical: "0.01-0.3",
        defaultText: "from the regularization recipe: 0.1 for strong and heavy, 0 for the others; 0 in a configuration made in code")
    public static let clip = TrainingSetting<Float>(
        \.clip, name: "clip", default: 5, summary: "Largest global L2 norm of the gradients; larger ones are scaled down",
        lower: .above(0), upper: nil)
    public static let ema = TrainingSetting<Float>(
        \.ema, name: "ema", default: 0,
        summary: "Decay of an exponential moving average of the weights, updated after every step (0.999 averages about the last thousand); evaluations, the kept model and the model file use the average, and training goes on from the weights themselves; 0 is off",
        lower: .from(0), upper: .below(1), typical: "0.998-0.9995")
        .addedLater(readingAbsentAs: 0)

    // Schedule.
    public static let warmupSteps = TrainingSetting<Int>(
        \.warmupSteps, name: "warmupSteps", default: 100, summary: "Steps of linear warm-up to the peak learning rate",
        unit: "steps", range: 0...1_000_000_000)
    public static let decay = TrainingSetting<LearningRateDecay>(
        \.decay, name: "decay", default: .wsd,
        summary: "Learning-rate decay after warm-up, to the step limit or what fits in the time limit; wsd holds the peak and decays over the last fifth, so a run continued past its limit loses little; cosine falls from the start",
        defaultText: "wsd, or cosine with the heavy regularization recipe")
    public static let decaySteps = TrainingSetting<Int>(
        \.decaySteps, name: "decaySteps", default: 0, summary: "Steps the decay runs over, warm-up included",
        unit: "steps", range: 0...1_000_000_000, zeroMeans: "the step limit, or what fits in the time limit")
    public static let minimumLearningRateFraction = TrainingSetting<Float>(
        \.minimumLearningRateFraction, name: "minimumLearningRateFraction", default: 0.1,
        summary: "Where the decay ends, as a fraction of the peak", lower: .from(0), upper: .to(1))

    // Limits: training stops at the first one reached.
    public static let steps = TrainingSetting<Int>(
        \.steps, name: "steps", default: 0, summary: "Optimizer steps in all", unit: "steps",
        range: 0...1_000_000_000, zeroMeans: "no step limit", fixedOnResume: false)
    public static let epochs = TrainingSetting<Int>(
        \.epochs, name: "epochs", default: 0, summary: "Passes over the training text", unit: "passes",
        range: 0...1_000_000, zeroMeans: "no epoch limit", fixedOnResume: false)
    /// One year: longer is taken as a typing mistake.
    public static let maximumTime = 31_536_000.0
    public static let timeLimit = TrainingSetting<Double>(
        \.timeLimit, name: "timeLimit", default: 600,
        summary: "Wall-clock training time of this run, in seconds; the default applies when no step or epoch limit is given",
        unit: "seconds", lower: .from(0), upper: .to(maximumTime), fixedOnResume: false,
        defaultText: "600 seconds, 10m", rangeText: "a duration from 0 to one year (31536000 seconds), such as 90s, 10m or 2h")

    // Evaluation.
    public static let evalEvery = TrainingSetting<Int>(
        \.evalEvery, name: "evalEvery", default: 500,
        summary: "Steps between evaluations of the validation split (also evaluated at the end)", unit: "steps",
        range: 1...1_000_000_000, fixedOnResume: false,
        defaultText: "in quill train, about \(EvaluationInterval.trainingPerValidationCharacter) times the validation split's length of training, \(EvaluationInterval.steps.lowerBound) to \(EvaluationInterval.steps.upperBound) steps (see EvaluationInterval); 500 in a configuration made in code")
    public static let validationFraction = TrainingSetting<Double>(
        \.validationFraction, name: "validationFraction", default: 0.1,
        summary: "Fraction of the corpus, taken from its end, held out to validate", lower: .above(0), upper: .to(0.5))
    public static let earlyStopPatience = TrainingSetting<Int>(
        \.earlyStopPatience, name: "earlyStopPatience", default: 0,
        summary: "Evaluations in a row without a new best validation loss before training stops", unit: "evaluations",
        range: 0...1_000_000, zeroMeans: "never stop early", typical: "3-5", fixedOnResume: false)
    /// Most periodic snapshots kept.
    public static let maximumSnapshots = 1_000_000
    public static let keepSnapshots = TrainingSetting<Int?>(
        \.keepSnapshots, name: "keepSnapshots", default: nil,
        summary: "Periodic snapshots of the weights kept beside the best model, the last ones, one per evaluation, named by step",
        unit: "snapshots", range: "a whole number from 1 to \(maximumSnapshots)", typical: "3-10", fixedOnResume: false,
        rejected: ["0", "-1", "\(maximumSnapshots + 1)"], defaultText: "none kept",
        accepts: { $0.map { (1...maximumSnapshots).contains($0) } ?? true })

    public static let precision = TrainingSetting<ComputePrecision>(
        \.precision, name: "precision", default: .bfloat16,
        summary: "Arithmetic of the matrix products: float32, or bfloat16 products with float32 sums on CPUs with AVX-512 BF16 (float32 elsewhere); weights and optimizer stay float32",
        defaultText: "in quill train, from the CPU (PrecisionRule): bfloat16 on an AMD CPU with AVX-512 BF16, float32 elsewhere; bfloat16 in a configuration made in code")
    public static let seed = TrainingSetting<UInt64>(
        \.seed, name: "seed", default: 1, summary: "Seed of the random generator for initialization and dropout",
        range: "a whole number from 0 to \(UInt64.max)", accepts: { _ in true })

    /// Every setting, in the order of the configuration's fields.
    public static let all: [any AnyTrainingSetting] = [
        size, embeddingSize, hiddenSize, layers, regularization, dropout, dropoutMasks, inputDropout, weightDrop, embeddingDropout, batch, seq, learningRate, beta1, beta2, epsilon, weightDecay, clip, ema,
        warmupSteps, decay, decaySteps, minimumLearningRateFraction, steps, epochs, timeLimit, evalEvery,
        validationFraction, earlyStopPatience, keepSnapshots, precision, seed,
    ]
}
