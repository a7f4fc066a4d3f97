import Foundation
import Synchronization

/// Counters, gauges and latency histograms in Prometheus' text exposition format (version 0.0.4).
///
/// Labels are fixed vocabularies chosen by the code — route patterns (`/api/v1/orgs/:org/members`, never the path
/// with its ids), status classes, methods, outcomes, reason codes, store names — never a value from a request: no
/// email, org name, token or address can reach a label (a test scans every label value of a scrape).
package final class Metrics: Sendable {
    package static let shared = Metrics()

    /// Latency buckets in seconds (Prometheus' defaults around one request's life).
    package static let buckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

    struct Series: Hashable {
        let name: String
        let labels: [String]  // "k=v" pairs, in order
    }
    struct Histogram {
        var counts = [UInt64](repeating: 0, count: Metrics.buckets.count)
        var sum = 0.0
        var count: UInt64 = 0

        mutating func record(_ seconds: Double, bucket: Int?) {
            if let bucket { counts[bucket] += 1 }
            sum += seconds
            count += 1
        }

        mutating func merge(_ other: Histogram) {
            for i in counts.indices { counts[i] += other.counts[i] }
            sum += other.sum
            count += other.count
        }
    }
    /// One request's labels as they arrive (no strings built per request; labels are made at scrape time).
    struct RequestKey: Hashable {
        let route: String
        let method: String
        let statusClass: Int
    }
    struct State {
        var counters: [Series: Double] = [:]
        var histograms: [Series: Histogram] = [:]
        var gauges: [Series: Double] = [:]
        /// Per route, method and status class: the count and the latency (a route's histogram is the sum of its
        /// keys', made at scrape time), so that a request is one probe.
        var requests: [RequestKey: Histogram] = [:]
    }

    private let state = Mutex(State())
    private let help = Mutex<[String: (type: String, text: String)]>([:])
    private let samplers = Mutex<[@Sendable () async -> [(String, [(String, String)], Double)]]>([])

    package init() {}

    /// Declares a metric's type and help line (once; later calls change nothing).
    package func describe(_ name: String, _ type: String, _ text: String) {
        help.withLock { if $0[name] == nil { $0[name] = (type, text) } }
    }

    static func key(_ name: String, _ labels: [(String, String)]) -> Series {
        Series(name: name, labels: labels.map { "\($0.0)=\($0.1)" })
    }

    package func increment(_ name: String, _ labels: [(String, String)] = [], by n: Double = 1) {
        let k = Self.key(name, labels)
        state.withLock { $0.counters[k, default: 0] += n }
    }

    package func set(_ name: String, _ labels: [(String, String)] = [], _ value: Double) {
        let k = Self.key(name, labels)
        state.withLock { $0.gauges[k] = value }
    }

    package func add(_ name: String, _ labels: [(String, String)] = [], _ delta: Double) {
        let k = Self.key(name, labels)
        state.withLock { $0.gauges[k, default: 0] += delta }
    }

    package func observe(_ name: String, _ labels: [(String, String)] = [], seconds: Double) {
        let k = Self.key(name, labels)
        let i = Self.buckets.firstIndex { seconds <= $0 }
        state.withLock { s in
            var h = s.histograms[k] ?? Histogram()
            if let i { h.counts[i] += 1 }
            h.sum += seconds
            h.count += 1
            s.histograms[k] = h
        }
    }

    /// Gauges read at scrape time (outbox depth, oldest mail's age): each sampler answers (name, labels, value).
    package func sample(_ f: @escaping @Sendable () async -> [(String, [(String, String)], Double)]) {
        samplers.withLock { $0.append(f) }
    }

    /// One request done: by route pattern, method and status class, with its latency.
    /// Every request passes here (the event loop's hot path): the raw key only; labels are made at scrape time.
    package func request(route: String, method: String, status: Int, seconds: Double) {
        let k = RequestKey(route: route, method: method, statusClass: status / 100)
        let i = Self.buckets.firstIndex { seconds <= $0 }
        state.withLock { s in s.requests[k, default: Histogram()].record(seconds, bucket: i) }
    }

    /// The text exposition: `# HELP`/`# TYPE`, then each series; histograms with cumulative `le` buckets.
    package func render() async -> String {
        var sampled: [(String, [(String, String)], Double)] = []
        for f in samplers.withLock({ $0 }) { sampled += await f() }
        for (name, labels, value) in sampled { set(name, labels, value) }
        var s = state.withLock { $0 }
        for (k, h) in s.requests {
            let labels = [("route", k.route), ("method", k.method), ("status", "\(k.statusClass)xx")]
            s.counters[Self.key("gatehouse_http_requests_total", labels), default: 0] += Double(h.count)
            s.histograms[
                Self.key("gatehouse_http_request_duration_seconds", [("route", k.route)]), default: Histogram()
            ]
            .merge(h)
        }
        let described = help.withLock { $0 }
        var byName: [String: [String]] = [:]
        func labelText(_ l: [String], extra: String? = nil) -> String {
            let parts =
                l.map { pair -> String in
                    let eq = pair.firstIndex(of: "=")!
                    return "\(pair[..<eq])=\"\(Self.escape(String(pair[pair.index(after: eq)...])))\""
                } + (extra.map { [$0] } ?? [])
            return parts.isEmpty ? "" : "{" + parts.joined(separator: ",") + "}"
        }
        for (k, v) in s.counters {
            byName[k.name, default: []].append("\(k.name)\(labelText(k.labels)) \(Self.number(v))")
        }
        for (k, v) in s.gauges {
            byName[k.name, default: []].append("\(k.name)\(labelText(k.labels)) \(Self.number(v))")
        }
        for (k, h) in s.histograms {
            var lines: [String] = []
            var cumulative: UInt64 = 0
            for (i, b) in Self.buckets.enumerated() {
                cumulative += h.counts[i]
                lines.append("\(k.name)_bucket\(labelText(k.labels, extra: "le=\"\(Self.number(b))\"")) \(cumulative)")
            }
            lines.append("\(k.name)_bucket\(labelText(k.labels, extra: "le=\"+Inf\"")) \(h.count)")
            lines.append("\(k.name)_sum\(labelText(k.labels)) \(Self.number(h.sum))")
            lines.append("\(k.name)_count\(labelText(k.labels)) \(h.count)")
            byName[k.name, default: []] += lines
        }
        var out = ""
        for name in byName.keys.sorted() {
            if let d = described[name] {
                out += "# HELP \(name) \(d.text)\n# TYPE \(name) \(d.type)\n"
            }
            out += byName[name]!.sorted().joined(separator: "\n") + "\n"
        }
        return out
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    static func number(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v)
    }

    /// Tests: start from nothing.
    package func reset() { state.withLock { $0 = State() } }
}
