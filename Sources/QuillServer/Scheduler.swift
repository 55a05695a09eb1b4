import Foundation
import Quill

/// Runs every generation of the server on one thread, batching the live ones into shared engine steps.
///
/// Continuous batching, the LSTM's way: each step advances every running generation by one token
/// in one engine call, and generations join (from the queue) and leave (finished, timed out or
/// cancelled) between steps. Each generation draws from its own random generator, so its text
/// does not depend on which others share its steps.
final class Scheduler: @unchecked Sendable {
    /// Why a submission was refused.
    enum Refusal: Error, Equatable {
        /// Running and queued generations are at their limits.
        case queueFull
        /// The server is shutting down.
        case shuttingDown
    }

    let maxRunning: Int
    let maxQueued: Int
    private let lanes: LaneBatch
    private let vocabularySize: Int
    private let vocabulary: Vocabulary

    private let condition = NSCondition()
    // Guarded by `condition`.
    private var queue: [Generation] = []
    private var runningCount = 0
    private var draining = false
    private var drainDeadline: ContinuousClock.Instant?
    private var stopped = false
    private var finishedThread = false

    // Scheduler-thread state.
    private var running: [Generation] = []
    private var freeSlots: [Int]

    init(model: LanguageModel, vocabulary: Vocabulary, precision: ComputePrecision, maxRunning: Int, maxQueued: Int) {
        self.vocabulary = vocabulary
        self.maxRunning = maxRunning
        self.maxQueued = maxQueued
        lanes = LaneBatch(model: model, capacity: maxRunning, precision: precision)
        vocabularySize = model.configuration.vocabularySize
        freeSlots = Array((0..<maxRunning).reversed())
    }

    /// Starts the scheduler's thread.
    func start() {
        let thread = Thread { [self] in loop() }
        thread.name = "quill-scheduler"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Generations running and waiting, for `/health` and the metrics.
    var load: (running: Int, queued: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (runningCount, queue.count)
    }

    /// Queues the choices of one request, all or none.
    ///
    /// - Throws: `Refusal.queueFull` when they would not fit in the free lanes plus the queue,
    ///   `Refusal.shuttingDown` once a shutdown began.
    func submit(_ generations: [Generation]) throws(Refusal) {
        condition.lock()
        defer { condition.unlock() }
        if draining || stopped { throw .shuttingDown }
        let freeLanes = maxRunning - runningCount
        guard queue.count + generations.count - freeLanes <= maxQueued else { throw .queueFull }
        queue.append(contentsOf: generations)
        condition.signal()
    }

    /// Stops taking new work; running and queued generations go on until `grace` has passed, then end.
    func beginShutdown(grace: Duration) {
        condition.lock()
        if !draining {
            draining = true
            drainDeadline = ContinuousClock.now + grace
        }
        condition.signal()
        condition.unlock()
    }

    /// Waits until a shutdown began and every generation has ended.
    func waitUntilDrained() async {
        while !isFinished {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    private var isFinished: Bool {
        condition.lock()
        defer { condition.unlock() }
        return finishedThread
    }

    /// Ends the thread at once, ending every generation (for tests that do not shut down gracefully).
    func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            // Admit queued generations into free lanes, or wait for work.
            condition.lock()
            while queue.isEmpty && running.isEmpty && !stopped && !draining {
                condition.wait()
            }
            let now = ContinuousClock.now
            let expired = stopped || (drainDeadline.map { now >= $0 } ?? false)
            var admitted: [Generation] = []
            if expired {
                admitted = queue
                queue.removeAll()
            } else {
                while running.count + admitted.count < maxRunning, !queue.isEmpty {
                    admitted.append(queue.removeFirst())
                }
            }
            runningCount = running.count + (expired ? 0 : admitted.count)
            let finishedAll = (draining || stopped) && queue.isEmpty && running.isEmpty && admitted.isEmpty
            condition.unlock()

            if expired {
                for g in admitted { g.finish(.timeLimit) }
                for g in running { release(g); g.finish(.timeLimit) }
                running.removeAll()
                publishRunning()
                condition.lock()
                if queue.isEmpty {
                    finishedThread = true
                    condition.unlock()
                    return
                }
                condition.unlock()
                continue
            }
            if finishedAll {
                condition.lock()
                finishedThread = true
                condition.unlock()
                return
            }
            for g in admitted where !g.isCancelled {
                g.slot = freeSlots.removeLast()
                running.append(g)
            }
            // Leave: cancelled and timed out.
            var kept: [Generation] = []
            for g in running {
                if g.isCancelled {
                    release(g)
                } else if now >= g.deadline {
                    release(g)
                    g.finish(.timeLimit)
                } else {
                    kept.append(g)
                }
            }
            running = kept
            if running.isEmpty {
                publishRunning()
                continue
            }
            // A generation whose client reads slowly waits rather than piling up text in memory.
            let ready = running.filter { !$0.isPaused }
            if ready.isEmpty {
                publishRunning()
                condition.lock()
                _ = condition.wait(until: Date(timeIntervalSinceNow: 0.002))
                condition.unlock()
                continue
            }
            stepOnce(ready)
            publishRunning()
        }
    }

    /// One engine step over the given running generations, then one draw for each that has read its prompt.
    private func stepOnce(_ ready: [Generation]) {
        let slots = ready.map(\.slot)
        let tokens = ready.map { g in g.read < g.prompt.count ? g.prompt[g.read] : g.next }
        let logits = lanes.step(slots: slots, tokens: tokens)
        let stepped = Set(ready.map(ObjectIdentifier.init))
        var kept = running.filter { !stepped.contains(ObjectIdentifier($0)) }
        for (i, g) in ready.enumerated() {
            if g.read < g.prompt.count {
                g.read += 1
                if g.read < g.prompt.count {
                    kept.append(g)
                    continue
                }
            }
            let next = g.sampler.sample(logits: logits + i * vocabularySize, random: &g.random)
            g.next = next
            if next == Vocabulary.documentID {
                release(g)
                g.finish(.endOfDocument)
                continue
            }
            guard let scalar = vocabulary.scalar(of: next) else {
                kept.append(g)
                continue
            }
            g.emit(g.text.append(scalar))
            g.produced += 1
            if g.text.stopped {
                release(g)
                g.finish(.stop)
            } else if g.produced >= g.maxCharacters {
                release(g)
                g.finish(.length)
            } else {
                kept.append(g)
            }
        }
        running = kept
    }

    private func release(_ g: Generation) {
        freeSlots.append(g.slot)
        g.slot = -1
    }

    private func publishRunning() {
        condition.lock()
        runningCount = running.count
        condition.unlock()
    }
}
