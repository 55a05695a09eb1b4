import CoreMetrics
import Foundation

/// The server's counters, recorded through swift-metrics and readable as Prometheus text at `/metrics`.
///
/// The counters are made with a factory of the server's own (`PrometheusTextFactory`), so they work
/// whatever backend the process bootstrapped, and several servers in one process keep apart.
final class ServerMetrics: Sendable {
    let factory = PrometheusTextFactory()
    let requests: Counter
    let refused: Counter
    let characters: Counter
    let latency: CoreMetrics.Timer
    let firstCharacter: CoreMetrics.Timer

    init() {
        requests = Counter(label: "quill_requests_total", factory: factory)
        refused = Counter(label: "quill_requests_refused_total", factory: factory)
        characters = Counter(label: "quill_generated_characters_total", factory: factory)
        latency = CoreMetrics.Timer(label: "quill_request_seconds", factory: factory)
        firstCharacter = CoreMetrics.Timer(label: "quill_first_character_seconds", factory: factory)
    }

    /// Every metric in the Prometheus text exposition format, with gauges of the scheduler's load.
    func prometheusText(running: Int, queued: Int) -> String {
        factory.render() + "# TYPE quill_running_generations gauge\nquill_running_generations \(running)\n"
            + "# TYPE quill_queued_generations gauge\nquill_queued_generations \(queued)\n"
    }
}

/// A small swift-metrics backend that keeps counters and timer sums in memory and renders them as Prometheus text.
final class PrometheusTextFactory: MetricsFactory, @unchecked Sendable {
    private let lock = NSLock()
    private var counters: [String: Value] = [:]
    private var timers: [String: TimerValue] = [:]

    final class Value: CounterHandler, FloatingPointCounterHandler, RecorderHandler, MeterHandler, @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0.0
        func increment(by amount: Int64) { add(Double(amount)) }
        func increment(by amount: Double) { add(amount) }
        func decrement(by amount: Double) { add(-amount) }
        func set(_ value: Int64) { set(Double(value)) }
        func set(_ value: Double) { lock.lock(); self.value = value; lock.unlock() }
        func record(_ value: Int64) { set(Double(value)) }
        func record(_ value: Double) { set(value) }
        func reset() { set(0.0) }
        private func add(_ amount: Double) { lock.lock(); value += amount; lock.unlock() }
        var current: Double { lock.lock(); defer { lock.unlock() }; return value }
    }

    final class TimerValue: TimerHandler, @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        private var sum = 0.0
        func recordNanoseconds(_ duration: Int64) {
            lock.lock(); count += 1; sum += Double(duration) / 1e9; lock.unlock()
        }
        var current: (count: Int, sum: Double) { lock.lock(); defer { lock.unlock() }; return (count, sum) }
    }

    private static func key(_ label: String, _ dimensions: [(String, String)]) -> String {
        guard !dimensions.isEmpty else { return label }
        return label + "{" + dimensions.map { "\($0.0)=\"\($0.1)\"" }.joined(separator: ",") + "}"
    }

    private func value(_ label: String, _ dimensions: [(String, String)]) -> Value {
        lock.lock(); defer { lock.unlock() }
        let key = Self.key(label, dimensions)
        if let v = counters[key] { return v }
        let v = Value()
        counters[key] = v
        return v
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler { value(label, dimensions) }
    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler { value(label, dimensions) }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler { value(label, dimensions) }
    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler { value(label, dimensions) }
    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        lock.lock(); defer { lock.unlock() }
        let key = Self.key(label, dimensions)
        if let t = timers[key] { return t }
        let t = TimerValue()
        timers[key] = t
        return t
    }
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyMeter(_ handler: any MeterHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}

    /// Counters as `name value` lines, timers as `_count` and `_sum` lines, sorted by name.
    func render() -> String {
        lock.lock()
        let counters = self.counters, timers = self.timers
        lock.unlock()
        var out = ""
        for key in counters.keys.sorted() {
            out += "# TYPE \(key.split(separator: "{")[0]) counter\n\(key) \(Self.format(counters[key]!.current))\n"
        }
        for key in timers.keys.sorted() {
            let (count, sum) = timers[key]!.current
            out += "# TYPE \(key) summary\n\(key)_count \(count)\n\(key)_sum \(Self.format(sum))\n"
        }
        return out
    }

    private static func format(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : String(x)
    }
}
